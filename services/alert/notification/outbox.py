"""Relays the outbox to Kafka `alerts`: committed lifecycle events, in sequence order.

A row is marked published only after the broker acknowledged it, so a crash in between
publishes it again (at-least-once); consumers de-duplicate by the event's sequence.
"""

from collections.abc import Iterable
from concurrent.futures import Future
from typing import Protocol

from google.protobuf.message import Message

from servicekit.kafka.topics import ALERTS
from services.alert.metrics import EVENTS_PUBLISHED
from services.alert.protobuf import to_alert_event
from services.alert.storage.store import AlertStore


class EventPublisher(Protocol):
    """What the relay needs of servicekit's EventProducer."""

    def publish(
        self, topic: str, *, key: str, message: Message, message_id: str
    ) -> "Future[None]": ...

    def wait_delivered(self, futures: Iterable["Future[None]"]) -> None: ...


class OutboxPublisher:
    def __init__(self, store: AlertStore, producer: EventPublisher, batch_size: int = 100) -> None:
        self._store = store
        self._producer = producer
        self._batch_size = batch_size

    def publish_pending(self) -> int:
        """Publish every unpublished event; DeliveryFailed leaves the rest for the next run."""
        published = 0
        while events := self._store.unpublished_events(self._batch_size):
            # Keyed by topic: one topic's events stay in order on one partition.
            futures = [
                self._producer.publish(
                    ALERTS,
                    key=event.alert.series.topic,
                    message=to_alert_event(event.sequence, event.alert),
                    message_id=f"alert-event-{event.sequence}",
                )
                for event in events
            ]
            self._producer.wait_delivered(futures)
            self._store.mark_published([event.sequence for event in events])
            EVENTS_PUBLISHED.inc(len(events))
            published += len(events)
        return published
