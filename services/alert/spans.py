"""The alert service's own spans: each kind's verdict on each closed bucket, and each alert
opened, extended, acknowledged or resolved, linked to the traces of the messages behind it.

Topics and channels are product categories and may be attributes. Message text and customer or
conversation ids never reach this module: evidence is referred to by message id and span only.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanContext, SpanKind

from services.alert.alerts import Alert, AlertKind, ExampleMessage, SeriesKey, SpanRef
from services.alert.buckets import BucketTally
from services.alert.detection.series_monitor import KindVerdict

tracer = trace.get_tracer(__name__)

# Which detector judged the bucket, and what its verdicts are called.
DETECTOR_NAMES = {AlertKind.NEGATIVE_SHARE: "negative_spike", AlertKind.VOLUME: "volume_surge"}
_VERDICTS = {
    AlertKind.NEGATIVE_SHARE: ("spike", "no_spike"),
    AlertKind.VOLUME: ("surge", "no_surge"),
}
# What the expectation counts: negatives for the share, messages for the volume.
_EXPECTED = {
    AlertKind.NEGATIVE_SHARE: "alert.detector.expected_negatives",
    AlertKind.VOLUME: "alert.detector.expected_messages",
}


@contextmanager
def judging_bucket(
    series: SeriesKey, kind: AlertKind, start: datetime, tally: BucketTally
) -> Iterator[Span]:
    """`alert judge bucket`, one per kind: record the verdict with `record_verdict`."""
    with tracer.start_as_current_span(
        "alert judge bucket",
        kind=SpanKind.INTERNAL,
        attributes={
            "alert.topic": series.topic,
            "alert.channel": series.channel,
            "alert.kind": kind.value,
            "alert.detector.name": DETECTOR_NAMES[kind],
            "alert.bucket.start": start.isoformat(),
            "alert.bucket.negative_count": tally.negative,
            "alert.bucket.total_count": tally.total,
        },
    ) as span:
        yield span


def record_verdict(span: Span, verdict: KindVerdict) -> None:
    anomalous, normal = _VERDICTS[verdict.kind]
    span.set_attributes(
        {
            "alert.detector.verdict": anomalous if verdict.anomalous else normal,
            "alert.detector.score": verdict.score,
            _EXPECTED[verdict.kind]: verdict.expected,
            "alert.detector.sustained": verdict.sustained,
            # The incident stays open through a few quiet buckets before it resolves.
            "alert.episode_open": verdict.decision.incident_open,
        }
    )


@contextmanager
def alert_change(
    action: str, alert_id: str, evidence: Sequence[ExampleMessage] = ()
) -> Iterator[Span]:
    """`alert <action>` with the alert's id, linked to the producer spans of `evidence`.

    Links, not parents: an alert has many messages behind it, each in its own trace.
    """
    links = [_link(e.producer_span) for e in evidence if e.producer_span is not None]
    with tracer.start_as_current_span(
        f"alert {action}",
        kind=SpanKind.INTERNAL,
        attributes={"alert.id": alert_id},
        links=links,
    ) as span:
        yield span


def describe_alert(span: Span, alert: Alert) -> None:
    span.set_attributes(
        {
            "alert.kind": alert.kind.value,
            "alert.severity": alert.severity.value,
            "alert.state": alert.state.value,
            "alert.topic": alert.series.topic,
            "alert.channel": alert.series.channel,
        }
    )


def _link(producer_span: SpanRef) -> Link:
    # Whether that span was sampled is not kept; a link names the span either way.
    context = SpanContext(
        trace_id=int(producer_span.trace_id, 16),
        span_id=int(producer_span.span_id, 16),
        is_remote=True,
    )
    return Link(context)
