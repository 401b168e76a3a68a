"""Alerts as operators see them: GET /v1/alerts, the SSE stream and acknowledgements."""

from datetime import UTC, datetime
from typing import Any, Literal

from carepulse.v1 import events_pb2
from pydantic import BaseModel, ConfigDict, Field

from gateway.timestamps import from_timestamp

AlertStateName = Literal["firing", "acknowledged", "resolved"]
SeverityName = Literal["warning", "critical", "unspecified"]
AlertKindName = Literal["negative_share", "volume", "unspecified"]

STATES: dict[AlertStateName, events_pb2.AlertState] = {
    "firing": events_pb2.ALERT_STATE_FIRING,
    "acknowledged": events_pb2.ALERT_STATE_ACKNOWLEDGED,
    "resolved": events_pb2.ALERT_STATE_RESOLVED,
}


class ExampleTrace(BaseModel):
    message_id: str
    trace_id: str = Field(description="W3C trace id (32 hex digits): search it in the trace UI.")
    span_id: str = Field(description="Classify's send span of the message, in that trace.")


class Evidence(BaseModel):
    negative_count: int
    total_count: int
    baseline_negative_rate: float
    baseline_message_rate: float = Field(
        description="Messages expected per bucket (volume alerts; 0 for negative-share ones)."
    )
    score: float
    window_start: datetime | None
    window_end: datetime | None
    example_message_ids: list[str]
    example_traces: list[ExampleTrace] = Field(
        description="Where the example messages' traces are (those that carried a trace)."
    )


class Acknowledgement(BaseModel):
    operator: str
    note: str
    at: datetime | None


class Alert(BaseModel):
    alert_id: str
    topic: str
    channel: str
    kind: AlertKindName = Field(
        description="What fired: `negative_share` (the share of negative messages spiked) or "
        "`volume` (the number of messages surged)."
    )
    state: AlertStateName | Literal["unspecified"]
    severity: SeverityName
    evidence: Evidence
    opened_at: datetime | None
    updated_at: datetime | None
    resolved_at: datetime | None
    acknowledgement: Acknowledgement | None

    @classmethod
    def from_proto(cls, alert: Any) -> "Alert":
        evidence = alert.evidence
        ack = alert.acknowledgement
        return cls(
            alert_id=alert.alert_id,
            topic=alert.topic,
            channel=alert.channel,
            kind=_enum_name(events_pb2.AlertKind, alert.kind, "ALERT_KIND_"),
            state=_enum_name(events_pb2.AlertState, alert.state, "ALERT_STATE_"),
            severity=_enum_name(events_pb2.Severity, alert.severity, "SEVERITY_"),
            evidence=Evidence(
                negative_count=evidence.negative_count,
                total_count=evidence.total_count,
                baseline_negative_rate=evidence.baseline_negative_rate,
                baseline_message_rate=evidence.baseline_message_rate,
                score=evidence.score,
                window_start=from_timestamp(evidence.window_start),
                window_end=from_timestamp(evidence.window_end),
                example_message_ids=list(evidence.example_message_ids),
                example_traces=[
                    ExampleTrace(
                        message_id=trace.message_id, trace_id=trace.trace_id, span_id=trace.span_id
                    )
                    for trace in evidence.example_traces
                ],
            ),
            opened_at=from_timestamp(alert.opened_at),
            updated_at=from_timestamp(alert.updated_at),
            resolved_at=from_timestamp(alert.resolved_at),
            acknowledgement=(
                Acknowledgement(operator=ack.operator, note=ack.note, at=from_timestamp(ack.at))
                if alert.HasField("acknowledgement")
                else None
            ),
        )


class AlertPage(BaseModel):
    alerts: list[Alert] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")


class AlertEvent(BaseModel):
    """The `data` of one SSE event; its `id` is the same sequence number."""

    sequence: int
    alert: Alert

    @classmethod
    def from_proto(cls, event: Any) -> "AlertEvent":
        return cls(sequence=event.sequence, alert=Alert.from_proto(event.alert))


class JudgedBucket(BaseModel):
    start: datetime
    negative_count: int
    total_count: int
    expected_negatives: float = Field(description="Negatives the baseline expected.")
    spike_threshold_negatives: int = Field(
        description="The fewest negatives that would have spiked this bucket on its own."
    )
    spiked: bool = Field(description="The bucket met the spike condition (alone or sustained).")
    expected_messages: float = Field(description="Messages the volume baseline expected.")
    surge_threshold_messages: int = Field(
        description="The fewest messages that would have surged this bucket on its own."
    )
    surged: bool = Field(description="The bucket met the surge condition (alone or sustained).")


class AlertSeries(BaseModel):
    """The alert's topic and channel bucket by bucket around its window, as each kind's
    detector judged it."""

    alert_id: str
    bucket_seconds: float
    buckets: list[JudgedBucket] = Field(description="Oldest first; empty once past retention.")

    @classmethod
    def from_proto(cls, series: Any) -> "AlertSeries":
        return cls(
            alert_id=series.alert_id,
            bucket_seconds=series.bucket_width.ToTimedelta().total_seconds(),
            buckets=[
                JudgedBucket(
                    start=bucket.start.ToDatetime(tzinfo=UTC),
                    negative_count=bucket.negative_count,
                    total_count=bucket.total_count,
                    expected_negatives=bucket.expected_negatives,
                    spike_threshold_negatives=bucket.spike_threshold_negatives,
                    spiked=bucket.spiked,
                    expected_messages=bucket.expected_messages,
                    surge_threshold_messages=bucket.surge_threshold_messages,
                    surged=bucket.surged,
                )
                for bucket in series.buckets
            ],
        )


class AcknowledgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000)


def _enum_name(enum: Any, value: int, prefix: str) -> Any:
    """ALERT_STATE_FIRING -> "firing"; a value newer than this code reads as "unspecified"."""
    try:
        name: str = enum.Name(value)
    except ValueError:
        return "unspecified"
    return name.removeprefix(prefix).lower()
