"""Domain alerts as carepulse.v1 messages, for the edges that speak protobuf: the `alerts`
topic (outbox relay), its dead letters and the gRPC API."""

from carepulse.v1 import alert_pb2, events_pb2

from servicekit.timestamps import to_timestamp
from services.alert.alerts import Alert, AlertKind, AlertState, Severity
from services.alert.detection.judged_buckets import JudgedBucket

STATES = {
    AlertState.FIRING: events_pb2.ALERT_STATE_FIRING,
    AlertState.ACKNOWLEDGED: events_pb2.ALERT_STATE_ACKNOWLEDGED,
    AlertState.RESOLVED: events_pb2.ALERT_STATE_RESOLVED,
}
SEVERITIES = {
    Severity.WARNING: events_pb2.SEVERITY_WARNING,
    Severity.CRITICAL: events_pb2.SEVERITY_CRITICAL,
}
KINDS = {
    AlertKind.NEGATIVE_SHARE: events_pb2.ALERT_KIND_NEGATIVE_SHARE,
    AlertKind.VOLUME: events_pb2.ALERT_KIND_VOLUME,
}


def to_alert_message(alert: Alert) -> events_pb2.Alert:
    evidence = alert.evidence
    ack = alert.acknowledgement
    return events_pb2.Alert(
        alert_id=alert.alert_id,
        topic=alert.series.topic,
        channel=alert.series.channel,
        kind=KINDS[alert.kind],
        state=STATES[alert.state],
        severity=SEVERITIES[alert.severity],
        evidence=events_pb2.AlertEvidence(
            negative_count=evidence.negative_count,
            total_count=evidence.total_count,
            baseline_negative_rate=evidence.baseline_negatives,
            baseline_message_rate=evidence.baseline_messages,
            score=evidence.score,
            window_start=to_timestamp(evidence.window_start),
            window_end=to_timestamp(evidence.window_end),
            example_message_ids=list(evidence.example_message_ids),
            example_traces=[
                events_pb2.MessageTrace(
                    message_id=example.message_id,
                    trace_id=example.producer_span.trace_id,
                    span_id=example.producer_span.span_id,
                )
                for example in evidence.examples
                if example.producer_span is not None
            ],
        ),
        opened_at=to_timestamp(alert.opened_at),
        updated_at=to_timestamp(alert.updated_at),
        resolved_at=to_timestamp(alert.resolved_at),
        acknowledgement=(
            events_pb2.Acknowledgement(
                operator=ack.operator, note=ack.note, at=to_timestamp(ack.at)
            )
            if ack is not None
            else None
        ),
    )


def to_alert_event(sequence: int, alert: Alert) -> events_pb2.AlertEvent:
    """An outbox row as the event clients receive."""
    return events_pb2.AlertEvent(sequence=sequence, alert=to_alert_message(alert))


def to_judged_bucket_message(bucket: JudgedBucket) -> alert_pb2.JudgedBucket:
    return alert_pb2.JudgedBucket(
        start=to_timestamp(bucket.start),
        negative_count=bucket.negative,
        total_count=bucket.total,
        expected_negatives=bucket.expected_negatives,
        spike_threshold_negatives=bucket.spike_threshold_negatives,
        spiked=bucket.spiked,
        expected_messages=bucket.expected_messages,
        surge_threshold_messages=bucket.surge_threshold_messages,
        surged=bucket.surged,
    )


def state_name(state: int) -> str:
    """ALERT_STATE_FIRING -> "firing", as the gateway and webhooks spell it."""
    return events_pb2.AlertState.Name(state).removeprefix("ALERT_STATE_").lower()
