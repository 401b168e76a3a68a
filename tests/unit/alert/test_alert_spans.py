"""The alert service's own spans: verdicts per bucket, alert changes linked to their evidence."""

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.alert.alerts import Alert, AlertKind, SpanRef
from services.alert.detection.negative_share import NegativeShareConfig
from tests.unit.alert.conftest import CARD, RULES, Pipeline, producer_span, traced


def _named(spans: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in spans.get_finished_spans() if span.name == name]


def _judged(spans: InMemorySpanExporter, kind: AlertKind) -> list[ReadableSpan]:
    judged = _named(spans, "alert judge bucket")
    return [span for span in judged if _attributes(span)["alert.kind"] == kind.value]


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _linked(span: ReadableSpan) -> list[SpanRef]:
    return [
        SpanRef(format(link.context.trace_id, "032x"), format(link.context.span_id, "016x"))
        for link in span.links
    ]


def _spike(pipeline: Pipeline, negatives: int = 30, total: int = 35) -> list[str]:
    """One spiking bucket of traced messages; returns its negative messages' ids."""
    observations = traced(pipeline.observations(negatives, total))
    pipeline.count(observations)
    pipeline.next_bucket()
    return [o.message_id for o in observations if o.negative]


def _opened(pipeline: Pipeline) -> Alert:
    pipeline.baseline()
    _spike(pipeline)
    (alert,) = pipeline.alerts()
    return alert


def test_each_closed_bucket_is_judged_in_a_span_per_kind_with_the_detectors_verdict(
    pipeline: Pipeline, exported_spans: InMemorySpanExporter
) -> None:
    pipeline.baseline(buckets=3)
    _spike(pipeline)

    *quiet, spiked = _judged(exported_spans, AlertKind.NEGATIVE_SHARE)
    assert len(quiet) == 3
    judged = _attributes(spiked)
    assert judged["alert.topic"] == CARD.topic
    assert judged["alert.channel"] == CARD.channel
    assert judged["alert.detector.name"] == "negative_spike"
    assert judged["alert.detector.verdict"] == "spike"
    assert judged["alert.detector.score"] >= NegativeShareConfig().threshold
    assert (judged["alert.bucket.negative_count"], judged["alert.bucket.total_count"]) == (30, 35)
    assert {_attributes(span)["alert.detector.verdict"] for span in quiet} == {"no_spike"}
    volume = [_attributes(span) for span in _judged(exported_spans, AlertKind.VOLUME)]
    assert len(volume) == 4
    assert {v["alert.detector.name"] for v in volume} == {"volume_surge"}
    # A new series is still learning its traffic: nothing it brings is a surge yet.
    assert {v["alert.detector.verdict"] for v in volume} == {"no_surge"}
    assert all(v["alert.detector.expected_messages"] > 0 for v in volume)


def test_opening_span_carries_the_alert_and_links_to_its_examples_producer_spans(
    pipeline: Pipeline, exported_spans: InMemorySpanExporter
) -> None:
    alert = _opened(pipeline)

    (opening,) = _named(exported_spans, "alert open")
    judged = _judged(exported_spans, AlertKind.NEGATIVE_SHARE)[-1]
    assert _attributes(opening)["alert.id"] == alert.alert_id
    assert _attributes(opening)["alert.kind"] == "negative_share"
    assert _attributes(opening)["alert.severity"] == alert.severity.value
    assert _linked(opening) == [producer_span(m) for m in alert.evidence.example_message_ids]
    # Inside the verdict that opened it, in that bucket's trace.
    assert opening.parent is not None and judged.context is not None
    assert opening.parent.span_id == judged.context.span_id


def test_extending_span_links_to_the_new_buckets_examples(
    pipeline: Pipeline, exported_spans: InMemorySpanExporter
) -> None:
    alert = _opened(pipeline)

    more = _spike(pipeline, negatives=40, total=42)

    (extending,) = _named(exported_spans, "alert extend")
    assert _attributes(extending)["alert.id"] == alert.alert_id
    assert _linked(extending) == [producer_span(m) for m in more[:5]]


def test_acknowledge_and_resolve_spans_carry_the_alert_id(
    pipeline: Pipeline, exported_spans: InMemorySpanExporter
) -> None:
    alert = _opened(pipeline)

    pipeline.lifecycle.acknowledge(alert.alert_id, "ana", "on it")
    for _ in range(RULES.resolve_after_buckets + RULES.cooldown_buckets + 2):
        pipeline.bucket(negatives=1, total=20)

    (acknowledging,) = _named(exported_spans, "alert acknowledge")
    (resolving,) = _named(exported_spans, "alert resolve")
    for span, state in ((acknowledging, "acknowledged"), (resolving, "resolved")):
        assert _attributes(span)["alert.id"] == alert.alert_id
        assert _attributes(span)["alert.state"] == state
