"""An alert's evidence points to its example messages' traces, from Kafka record to every API."""

from datetime import UTC, datetime, timedelta

from carepulse.v1 import events_pb2

from servicekit.kafka.consumer import InboundRecord
from services.alert.alerts import ExampleMessage, SpanRef
from services.alert.consumer import to_observation
from services.alert.detection.topic_attribution import TopicAttribution
from services.alert.notification.alertmanager import alertmanager_alert
from services.alert.notification.webhook import webhook_body
from services.alert.protobuf import to_alert_message
from tests.unit.alert.conftest import Pipeline, producer_span, traced

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"


def _record(headers: dict[str, str]) -> InboundRecord[events_pb2.ClassifiedMessage]:
    message = events_pb2.ClassifiedMessage(
        message=events_pb2.CustomerMessage(message_id="m-1", channel="chat"),
        classification=events_pb2.Classification(
            sentiment=events_pb2.SENTIMENT_NEGATIVE,
            intent="card_declined",
            intent_confidence=0.9,
        ),
    )
    return InboundRecord(message, "c-1", "messages.classified", 0, 7, headers)


def test_observation_keeps_the_span_that_produced_its_record() -> None:
    traced_record = _record({"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"})

    attribution = TopicAttribution()
    assert to_observation(traced_record, attribution).producer_span == SpanRef(TRACE_ID, SPAN_ID)
    assert to_observation(_record({}), attribution).producer_span is None


def test_alert_evidence_keeps_its_examples_producer_spans_as_it_grows_and_after_a_restart(
    pipeline: Pipeline,
) -> None:
    pipeline.baseline()
    spike = traced(pipeline.observations(negatives=30, total=35))
    pipeline.count(spike)
    pipeline.next_bucket()
    pipeline.count(pipeline.observations(negatives=40, total=42))  # the incident goes on
    pipeline.next_bucket()

    restarted = pipeline.restarted()
    (alert,) = restarted.alerts()
    restarted.close()

    assert alert.evidence.negative_count == 70
    assert alert.evidence.examples == tuple(
        ExampleMessage(o.message_id, producer_span(o.message_id)) for o in spike[:5]
    )


def test_alert_message_webhook_and_alertmanager_carry_the_example_traces(
    pipeline: Pipeline,
) -> None:
    pipeline.baseline()
    pipeline.count(traced(pipeline.observations(negatives=30, total=35)))
    pipeline.next_bucket()
    (alert,) = pipeline.alerts()
    expected = [
        (example.message_id, example.producer_span.trace_id, example.producer_span.span_id)
        for example in alert.evidence.examples
        if example.producer_span is not None
    ]
    assert len(expected) == 5

    message = to_alert_message(alert)
    webhook = webhook_body(1, alert)["alert"]["evidence"]["example_traces"]
    annotation = alertmanager_alert(
        alert, alerts_url="http://gateway/v1/alerts", active_until=datetime.now(UTC)
    )["annotations"]["example_trace_ids"]

    assert [(t.message_id, t.trace_id, t.span_id) for t in message.evidence.example_traces] == (
        expected
    )
    assert [(t["message_id"], t["trace_id"], t["span_id"]) for t in webhook] == expected
    assert annotation.split() == [trace_id for _, trace_id, _ in expected]


def test_alertmanager_annotations_name_no_traces_when_examples_carried_none(
    pipeline: Pipeline,
) -> None:
    pipeline.baseline()
    (alert,) = pipeline.bucket(negatives=30, total=35).alerts_opened

    posted = alertmanager_alert(
        alert,
        alerts_url="http://gateway/v1/alerts",
        active_until=alert.opened_at + timedelta(minutes=4),
    )

    assert "example_trace_ids" not in posted["annotations"]
