"""What reached Kafka: classified message ids and alert lifecycle events, read as an observer."""

import time
from collections.abc import Collection

import httpx
from carepulse.v1 import events_pb2
from kafka import TopicPartition
from kafka.errors import KafkaError

from local.stack import Stack
from reliability.chaos.tally import counted_messages
from reliability.kafka_snapshot import end_offsets, read_to_end
from servicekit.kafka.topics import ALERTS, MESSAGES_CLASSIFIED
from services.alert.protobuf import state_name


def read_values(
    bootstrap: str,
    topic: str,
    offsets: dict[TopicPartition, int] | None = None,
    timeout_s: float = 120,
) -> list[bytes]:
    """Every record value of `topic` from `offsets` (default: the start) to its end now."""
    return [r.value or b"" for r in read_to_end(bootstrap, [topic], offsets, timeout_s)]


def classified_ids(values: list[bytes]) -> list[str]:
    """Message ids in messages.classified, once per record (redeliveries repeat them)."""
    return [events_pb2.ClassifiedMessage.FromString(v).message.message_id for v in values]


def alert_events(values: list[bytes]) -> list[tuple[str, str]]:
    """(alert_id, state) of each event on `alerts`, states spelled as the API does."""
    events = [events_pb2.AlertEvent.FromString(v) for v in values]
    return [(e.alert.alert_id, state_name(e.alert.state)) for e in events]


def wait_classified(
    bootstrap: str, ids: Collection[str], since: dict[TopicPartition, int], timeout_s: float
) -> bool:
    """Whether every id reached messages.classified (after offsets `since`) within the time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            seen = set(classified_ids(read_values(bootstrap, MESSAGES_CLASSIFIED, since, 30)))
        except (KafkaError, TimeoutError):  # a broker still coming back: try again
            seen = set()
        if set(ids) <= seen:
            return True
        time.sleep(1)
    return False


def alert_counted(stack: Stack) -> int | None:
    """carepulse_alert_messages_total (on_time + late) of the running alert process."""
    try:
        reply = httpx.get(f"http://127.0.0.1:{stack.ports.metrics('alert')}/metrics", timeout=2)
    except httpx.HTTPError:
        return None
    return counted_messages(reply.text) if reply.status_code == 200 else None


__all__ = [
    "ALERTS",
    "MESSAGES_CLASSIFIED",
    "alert_counted",
    "end_offsets",
    "read_values",
    "wait_classified",
]
