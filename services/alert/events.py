"""Domain alerts as carepulse.v1 messages: the payload of the `alerts` topic and of the API."""

from carepulse.v1 import events_pb2

from servicekit.timestamps import to_timestamp
from services.alert.alerts import Alert, AlertState, Severity

STATES = {
    AlertState.FIRING: events_pb2.ALERT_STATE_FIRING,
    AlertState.ACKNOWLEDGED: events_pb2.ALERT_STATE_ACKNOWLEDGED,
    AlertState.RESOLVED: events_pb2.ALERT_STATE_RESOLVED,
}
SEVERITIES = {
    Severity.WARNING: events_pb2.SEVERITY_WARNING,
    Severity.CRITICAL: events_pb2.SEVERITY_CRITICAL,
}


def to_alert_message(alert: Alert) -> events_pb2.Alert:
    evidence = alert.evidence
    ack = alert.acknowledgement
    return events_pb2.Alert(
        alert_id=alert.alert_id,
        topic=alert.series.topic,
        channel=alert.series.channel,
        state=STATES[alert.state],
        severity=SEVERITIES[alert.severity],
        evidence=events_pb2.AlertEvidence(
            negative_count=evidence.negative_count,
            total_count=evidence.total_count,
            baseline_negative_rate=evidence.baseline_negatives,
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


def to_alert_event(sequence: int, alert_payload: bytes) -> events_pb2.AlertEvent:
    """An outbox row as the event clients receive; the payload is a serialized Alert."""
    return events_pb2.AlertEvent(
        sequence=sequence, alert=events_pb2.Alert.FromString(alert_payload)
    )


def state_name(state: int) -> str:
    """ALERT_STATE_FIRING -> "firing", as the gateway and webhooks spell it."""
    return events_pb2.AlertState.Name(state).removeprefix("ALERT_STATE_").lower()


def severity_name(severity: int) -> str:
    """SEVERITY_CRITICAL -> "critical"."""
    return events_pb2.Severity.Name(severity).removeprefix("SEVERITY_").lower()
