from collections.abc import Iterable
from concurrent.futures import Future

import pytest
from carepulse.v1 import events_pb2
from google.protobuf.message import Message

from servicekit.kafka.producer import DeliveryFailed
from servicekit.kafka.topics import ALERTS
from services.alert.alerts import AlertState
from services.alert.notification.outbox import OutboxPublisher
from tests.unit.alert.conftest import CARD, Pipeline


class FakeProducer:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.records: list[tuple[str, str, events_pb2.AlertEvent]] = []

    def publish(self, topic: str, *, key: str, message: Message, message_id: str) -> "Future[None]":
        assert isinstance(message, events_pb2.AlertEvent)
        future: Future[None] = Future()
        if self.fail:
            future.set_exception(DeliveryFailed("broker down"))
        else:
            self.records.append((topic, key, message))
            future.set_result(None)
        return future

    def wait_delivered(self, futures: Iterable["Future[None]"]) -> None:
        for future in futures:
            future.result()


def _open_ack_and_resolve(pipeline: Pipeline) -> str:
    pipeline.baseline()
    (alert,) = pipeline.bucket(negatives=30, total=35).alerts_opened
    pipeline.lifecycle.acknowledge(alert.alert_id, "ana", "")
    for _ in range(12):
        pipeline.bucket(negatives=1, total=20)
    return alert.alert_id


def test_lifecycle_changes_are_outbox_rows_in_sequence_order(pipeline: Pipeline) -> None:
    alert_id = _open_ack_and_resolve(pipeline)

    rows = pipeline.store.events_after(0, limit=100)

    assert [row.alert.alert_id for row in rows] == [alert_id] * 3
    assert [row.sequence for row in rows] == sorted(row.sequence for row in rows)
    states = [row.alert.state for row in rows]
    assert states == [AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.RESOLVED]


def test_relay_publishes_each_event_once_in_order_keyed_by_topic(pipeline: Pipeline) -> None:
    _open_ack_and_resolve(pipeline)
    producer = FakeProducer()
    relay = OutboxPublisher(pipeline.store, producer, batch_size=2)

    assert relay.publish_pending() == 3
    assert relay.publish_pending() == 0

    assert [(topic, key) for topic, key, _ in producer.records] == [(ALERTS, CARD.topic)] * 3
    sequences = [event.sequence for _, _, event in producer.records]
    assert sequences == [row.sequence for row in pipeline.store.events_after(0, 100)]
    # Encoded at the edge, with the kind that fired.
    assert [event.alert.state for _, _, event in producer.records] == [
        events_pb2.ALERT_STATE_FIRING,
        events_pb2.ALERT_STATE_ACKNOWLEDGED,
        events_pb2.ALERT_STATE_RESOLVED,
    ]
    assert {event.alert.kind for _, _, event in producer.records} == {
        events_pb2.ALERT_KIND_NEGATIVE_SHARE
    }
    assert pipeline.store.unpublished_events(100) == []


def test_undelivered_events_stay_in_the_outbox_for_the_next_run(pipeline: Pipeline) -> None:
    _open_ack_and_resolve(pipeline)
    producer = FakeProducer(fail=True)
    relay = OutboxPublisher(pipeline.store, producer)

    with pytest.raises(DeliveryFailed):
        relay.publish_pending()
    assert len(pipeline.store.unpublished_events(100)) == 3

    producer.fail = False
    assert relay.publish_pending() == 3


def test_committed_event_wakes_the_feed(pipeline: Pipeline) -> None:
    woken: list[bool] = []
    pipeline.feed.add_listener(lambda: woken.append(True))

    _open_ack_and_resolve(pipeline)

    assert woken == [True] * 3
    assert pipeline.feed.wait_beyond(0, timeout_s=0)
