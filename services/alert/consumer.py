"""messages.classified → open bucket counts; alerts leave through the outbox, not from here."""

from collections.abc import Sequence
from concurrent.futures import Future
from datetime import UTC, datetime

from carepulse.v1 import events_pb2
from opentelemetry import trace

from servicekit.database import outages_are_transient
from servicekit.kafka.consumer import InboundRecord
from services.alert.alerts import SeriesKey, SpanRef
from services.alert.detection.topic_attribution import TopicAttribution
from services.alert.lifecycle.counting import MessageCounter, Observation


class ClassifiedMessageProcessor:
    def __init__(self, counter: MessageCounter, attribution: TopicAttribution) -> None:
        self._counter = counter
        self._attribution = attribution

    def process(
        self, records: Sequence[InboundRecord[events_pb2.ClassifiedMessage]]
    ) -> list["Future[None]"]:
        # Counted and marked processed in one transaction before this returns, and the loop
        # commits offsets only after: a crash in between redelivers ids the store already has.
        with outages_are_transient():
            self._counter.count([to_observation(r, self._attribution) for r in records])
        return []


def to_observation(
    record: InboundRecord[events_pb2.ClassifiedMessage], attribution: TopicAttribution
) -> Observation:
    classified = record.value
    classification = classified.classification
    message = classified.message
    # A record without an id (never written by ingest) is still redelivered at the same
    # coordinates, which makes them a stable id for it.
    message_id = (
        message.message_id
        or record.message_id
        or f"{record.topic}/{record.partition}/{record.offset}"
    )
    # Ingest stamps received_at with the system's clock; a client's sent_at may be anything.
    if message.HasField("received_at"):
        received_at = message.received_at.ToDatetime(tzinfo=UTC)
    elif classified.HasField("classified_at"):
        received_at = classified.classified_at.ToDatetime(tzinfo=UTC)
    else:
        received_at = datetime.now(UTC)
    topic = attribution.topic_of(classification.intent, classification.intent_confidence)
    return Observation(
        message_id=message_id,
        series=None if topic is None else SeriesKey(topic=topic, channel=message.channel),
        received_at=received_at,
        negative=classification.sentiment == events_pb2.SENTIMENT_NEGATIVE,
        producer_span=producer_span_of(record),
    )


def producer_span_of(record: InboundRecord[events_pb2.ClassifiedMessage]) -> SpanRef | None:
    """The span that produced the record, from its W3C trace context headers."""
    context = trace.get_current_span(record.trace_context).get_span_context()
    if not context.is_valid:
        return None
    return SpanRef(
        trace_id=format(context.trace_id, "032x"), span_id=format(context.span_id, "016x")
    )
