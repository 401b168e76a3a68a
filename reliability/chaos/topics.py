"""What reached Kafka: classified message ids and alert lifecycle events, read as an observer."""

import time
from collections.abc import Collection

import httpx
from carepulse.v1 import events_pb2
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from local.stack import Stack
from reliability.chaos.tally import counted_messages
from servicekit.kafka.topics import ALERTS, MESSAGES_CLASSIFIED
from services.alert.events import state_name


def read_values(
    bootstrap: str,
    topic: str,
    offsets: dict[TopicPartition, int] | None = None,
    timeout_s: float = 120,
) -> list[bytes]:
    """Every record value of `topic` from `offsets` (default: the start) to its end now.

    Partitions are assigned, not subscribed: no consumer group, nothing committed.
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return []
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, (offsets or {}).get(tp, 0))
        end = consumer.end_offsets(partitions)
        values: list[bytes] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} not read to its end within {timeout_s}s")
            for batch in consumer.poll(timeout_ms=500, max_records=5000).values():
                values += [record.value or b"" for record in batch]
        return values
    finally:
        consumer.close(autocommit=False)


def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return dict(consumer.end_offsets(partitions))
    finally:
        consumer.close(autocommit=False)


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


__all__ = ["ALERTS", "MESSAGES_CLASSIFIED", "alert_counted", "read_values", "wait_classified"]
