"""An alert as of one lifecycle change, as JSON: what an outbox row keeps.

Each edge turns it into what it speaks (protobuf for Kafka and gRPC, JSON for webhooks,
Alertmanager's own shape), so the store never depends on a transport's encoding.
"""

from datetime import datetime
from typing import Any

from services.alert.alerts import (
    Acknowledgement,
    Alert,
    AlertKind,
    AlertState,
    Evidence,
    ExampleMessage,
    SeriesKey,
    Severity,
    SpanRef,
)


def to_snapshot(alert: Alert) -> dict[str, Any]:
    evidence, ack = alert.evidence, alert.acknowledgement
    return {
        "alert_id": alert.alert_id,
        "topic": alert.series.topic,
        "channel": alert.series.channel,
        "kind": alert.kind.value,
        "state": alert.state.value,
        "severity": alert.severity.value,
        "evidence": {
            "negative_count": evidence.negative_count,
            "total_count": evidence.total_count,
            "baseline_negatives": evidence.baseline_negatives,
            "baseline_messages": evidence.baseline_messages,
            "score": evidence.score,
            "window_start": evidence.window_start.isoformat(),
            "window_end": evidence.window_end.isoformat(),
            "examples": [_example(example) for example in evidence.examples],
        },
        "opened_at": alert.opened_at.isoformat(),
        "updated_at": alert.updated_at.isoformat(),
        "resolved_at": _iso(alert.resolved_at),
        "acknowledgement": (
            None
            if ack is None
            else {"operator": ack.operator, "note": ack.note, "at": ack.at.isoformat()}
        ),
    }


def from_snapshot(snapshot: dict[str, Any]) -> Alert:
    evidence, ack = snapshot["evidence"], snapshot["acknowledgement"]
    return Alert(
        alert_id=snapshot["alert_id"],
        series=SeriesKey(snapshot["topic"], snapshot["channel"]),
        kind=AlertKind(snapshot["kind"]),
        state=AlertState(snapshot["state"]),
        severity=Severity(snapshot["severity"]),
        evidence=Evidence(
            negative_count=evidence["negative_count"],
            total_count=evidence["total_count"],
            baseline_negatives=evidence["baseline_negatives"],
            baseline_messages=evidence["baseline_messages"],
            score=evidence["score"],
            window_start=datetime.fromisoformat(evidence["window_start"]),
            window_end=datetime.fromisoformat(evidence["window_end"]),
            examples=tuple(
                ExampleMessage(
                    example["message_id"],
                    SpanRef(example["trace_id"], example["span_id"])
                    if "trace_id" in example
                    else None,
                )
                for example in evidence["examples"]
            ),
        ),
        opened_at=datetime.fromisoformat(snapshot["opened_at"]),
        updated_at=datetime.fromisoformat(snapshot["updated_at"]),
        resolved_at=_moment(snapshot["resolved_at"]),
        acknowledgement=(
            None
            if ack is None
            else Acknowledgement(ack["operator"], ack["note"], datetime.fromisoformat(ack["at"]))
        ),
    )


def _example(example: ExampleMessage) -> dict[str, str]:
    span = example.producer_span
    if span is None:
        return {"message_id": example.message_id}
    return {"message_id": example.message_id, "trace_id": span.trace_id, "span_id": span.span_id}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
