"""Business metrics: each topic's negative ratio, time to acknowledge, alerts open."""

from datetime import timedelta

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY, CollectorRegistry, Gauge

from services.alert.alerts import SeriesKey
from services.alert.buckets import BucketTally
from services.alert.lifecycle.negative_ratio import TopicNegativeRatios
from tests.unit.alert.conftest import START, WIDTH, Pipeline


def _ratio(topic: str) -> float | None:
    return REGISTRY.get_sample_value("carepulse_alert_negative_ratio", {"topic": topic})


def _acknowledged(severity: str) -> tuple[float, float]:
    """(count, sum) of carepulse_alert_time_to_acknowledge_seconds{severity}."""
    labels = {"severity": severity}
    name = "carepulse_alert_time_to_acknowledge_seconds"
    count = REGISTRY.get_sample_value(f"{name}_count", labels) or 0.0
    total = REGISTRY.get_sample_value(f"{name}_sum", labels) or 0.0
    return count, total


def test_negative_ratio_adds_up_a_topics_channels_in_its_last_closed_bucket(
    pipeline: Pipeline,
) -> None:
    chat, email = SeriesKey("ratio_topic", "chat"), SeriesKey("ratio_topic", "email")
    pipeline.count(pipeline.observations(negatives=3, total=10, series=chat))
    pipeline.count(pipeline.observations(negatives=1, total=10, series=email))

    pipeline.next_bucket()

    assert _ratio("ratio_topic") == 4 / 20


def test_negative_ratio_is_absent_while_the_topic_is_quiet(pipeline: Pipeline) -> None:
    quiet = SeriesKey("quiet_topic", "chat")
    pipeline.bucket(negatives=1, total=4, series=quiet)
    assert _ratio("quiet_topic") == 0.25

    pipeline.next_bucket()  # an empty bucket: no messages, no ratio

    assert _ratio("quiet_topic") is None


def test_a_channel_closing_an_older_bucket_leaves_the_topics_newest_ratio() -> None:
    registry = CollectorRegistry()
    ratios = TopicNegativeRatios(Gauge("ratio", "Negative ratio.", ["topic"], registry=registry))

    ratios.bucket_closed(SeriesKey("cards", "chat"), START + WIDTH, BucketTally(1, 2))
    ratios.bucket_closed(SeriesKey("cards", "email"), START, BucketTally(9, 9))  # catching up

    assert registry.get_sample_value("ratio", {"topic": "cards"}) == 0.5


def test_acknowledging_records_the_time_since_opening_with_the_traces_exemplar(
    pipeline: Pipeline, exported_spans: InMemorySpanExporter
) -> None:
    pipeline.baseline()
    (alert,) = pipeline.bucket(negatives=30, total=35).alerts_opened
    before = _acknowledged(alert.severity.value)
    pipeline.clock.now = alert.opened_at + timedelta(minutes=5)

    pipeline.lifecycle.acknowledge(alert.alert_id, "ana", "on it")
    pipeline.lifecycle.acknowledge(alert.alert_id, "ana", "again")  # idempotent: not counted

    count, total = _acknowledged(alert.severity.value)
    assert count - before[0] == 1
    assert total - before[1] == pytest.approx(300)
    first, _again = [
        s for s in exported_spans.get_finished_spans() if s.name == "alert acknowledge"
    ]
    assert first.context is not None
    assert format(first.context.trace_id, "032x") in _exemplar_trace_ids()


def test_alerts_open_follows_opening_and_resolution(pipeline: Pipeline) -> None:
    pipeline.baseline()
    pipeline.bucket(negatives=30, total=35)
    assert REGISTRY.get_sample_value("carepulse_alerts_open") == 1

    for _ in range(20):
        pipeline.bucket(negatives=1, total=20)

    assert REGISTRY.get_sample_value("carepulse_alerts_open") == 0


def _exemplar_trace_ids() -> set[str]:
    return {
        sample.exemplar.labels["trace_id"]
        for metric in REGISTRY.collect()
        if metric.name == "carepulse_alert_time_to_acknowledge_seconds"
        for sample in metric.samples
        if sample.exemplar is not None
    }
