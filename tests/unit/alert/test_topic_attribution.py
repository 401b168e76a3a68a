"""A message the classifier is unsure of counts in no topic's series: its confusions must not
look like an incident on the topic it was mistaken for."""

import pytest
from carepulse.v1 import events_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import REGISTRY
from pydantic import ValidationError

from servicekit.kafka.consumer import InboundRecord
from services.alert.consumer import ClassifiedMessageProcessor
from services.alert.detection.topic_attribution import TopicAttribution
from services.alert.lifecycle.counting import Observation
from services.alert.settings import AlertSettings
from tests.unit.alert.conftest import CARD, START, WIDTH, Pipeline

UNSURE, SURE = 0.4, 0.9
ATTRIBUTION = TopicAttribution(min_intent_confidence=0.5)


def _records(
    pipeline: Pipeline, count: int, confidence: float
) -> list[InboundRecord[events_pb2.ClassifiedMessage]]:
    """`count` negative messages received now, classified as CARD's topic with `confidence`."""
    received_at = Timestamp()
    received_at.FromDatetime(pipeline.clock.now)
    records = []
    for offset in range(count):
        value = events_pb2.ClassifiedMessage(
            message=events_pb2.CustomerMessage(
                message_id=f"r-{confidence}-{pipeline.clock.now:%H%M}-{offset}",
                channel=CARD.channel,
                received_at=received_at,
            ),
            classification=events_pb2.Classification(
                sentiment=events_pb2.SENTIMENT_NEGATIVE,
                intent=CARD.topic,
                intent_confidence=confidence,
            ),
        )
        records.append(InboundRecord(value, "c-1", "messages.classified", 0, offset))
    return records


@pytest.mark.parametrize(("confidence", "alerts"), [(UNSURE, 0), (SURE, 1)])
def test_a_negative_burst_alerts_on_its_topic_only_when_the_classifier_is_sure_of_it(
    pipeline: Pipeline, confidence: float, alerts: int
) -> None:
    processor = ClassifiedMessageProcessor(pipeline.counter, ATTRIBUTION)
    pipeline.baseline()

    processor.process(_records(pipeline, 30, confidence))
    result = pipeline.next_bucket()

    assert len(result.alerts_opened) == alerts
    assert len(pipeline.alerts()) == alerts


def test_an_unattributed_message_counts_in_no_series_and_only_once(pipeline: Pipeline) -> None:
    def unattributed_total() -> float:
        sample = REGISTRY.get_sample_value(
            "carepulse_alert_messages_total", {"outcome": "unattributed"}
        )
        return sample or 0.0

    before = unattributed_total()
    batch = [Observation(f"u-{i}", None, START, negative=True) for i in range(3)]
    batch.append(Observation("sure", CARD, START, negative=True))

    first = pipeline.count(batch)
    again = pipeline.count(batch)

    assert (first.counted, first.unattributed, first.duplicates) == (4, 3, 0)
    assert (again.counted, again.unattributed, again.duplicates) == (0, 0, 4)
    assert unattributed_total() - before == 3
    with pipeline.store.transaction() as tx:
        (tally,) = tx.messages.open_buckets_through(CARD, START + WIDTH).values()
    assert tally.total == 1


def test_a_message_at_the_minimum_confidence_counts_in_its_intent() -> None:
    assert ATTRIBUTION.topic_of("card_arrival", 0.5) == "card_arrival"
    assert ATTRIBUTION.topic_of("card_arrival", 0.49) is None
    assert TopicAttribution(min_intent_confidence=0.0).topic_of("card_arrival", 0.0) == (
        "card_arrival"
    )


def test_the_minimum_confidence_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALERT_MIN_INTENT_CONFIDENCE", "0.35")
    assert AlertSettings().topic_attribution == TopicAttribution(min_intent_confidence=0.35)

    monkeypatch.setenv("ALERT_MIN_INTENT_CONFIDENCE", "1")
    with pytest.raises(ValidationError):
        AlertSettings()
