"""Given-up notifications as records on `alerts.webhook.dlq`, beside the alert_deliveries row.

The value is the AlertEvent that could not be delivered; headers say where it was going, why
it failed and after how many attempts, so a person can replay it (e.g. with curl).
"""

from collections.abc import Iterable
from concurrent.futures import Future
from typing import Protocol

from servicekit.kafka.headers import DLQ_ATTEMPTS, DLQ_ERROR, RecordHeaders, event_headers
from servicekit.kafka.topics import ALERTS_WEBHOOK_DLQ
from services.alert.alerts import Alert
from services.alert.protobuf import to_alert_event

DLQ_DESTINATION = "dlq-destination"


class RawPublisher(Protocol):
    """What this needs of servicekit's EventProducer."""

    def publish_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: RecordHeaders
    ) -> "Future[None]": ...

    def wait_delivered(self, futures: Iterable["Future[None]"]) -> None: ...


class KafkaNotificationDeadLetters:
    def __init__(self, producer: RawPublisher) -> None:
        self._producer = producer

    def dead_letter(
        self, destination: str, sequence: int, alert: Alert, reason: str, attempts: int
    ) -> None:
        event = to_alert_event(sequence, alert)
        headers = [
            *event_headers(event, f"alert-event-{sequence}"),
            (DLQ_ERROR, reason.encode()),
            (DLQ_DESTINATION, destination.encode()),
            (DLQ_ATTEMPTS, str(attempts).encode()),
        ]
        future = self._producer.publish_raw(
            ALERTS_WEBHOOK_DLQ, alert.series.topic.encode(), event.SerializeToString(), headers
        )
        self._producer.wait_delivered([future])
