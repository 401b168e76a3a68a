"""Two alert kinds (negative-share spikes and volume surges), and an outbox of domain snapshots.

* `alerts` gets `kind` (every earlier alert is a negative-share spike) and `baseline_messages`
  (messages expected per bucket, which volume alerts report; 0 for the others); its series
  index covers the kind, since each kind has its own open alert.
* `judged_buckets` gets the volume's verdict beside the share's: `expected_messages`,
  `surge_threshold_messages`, `surged` (0 / false for buckets judged before).
* `alert_events` keeps each event's alert as a JSON snapshot (`alert_snapshot`) instead of
  serialized protobuf (`alert`): each edge encodes it as it speaks, so the store no longer
  depends on a transport. Existing events are converted, both ways.
* `series.monitor_state` moves the negative-share monitor's learned odds and its episode into
  the per-kind layout of `SeriesMonitor`; the volume detectors start learning at the upgrade.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from carepulse.v1 import events_pb2
from google.protobuf.timestamp_pb2 import Timestamp

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ALERTS = sa.table("alerts", sa.column("alert_id", sa.String()), sa.column("kind", sa.String()))
_DELIVERIES = sa.table("alert_deliveries", sa.column("sequence", sa.BigInteger()))
_EVENTS = sa.table(
    "alert_events",
    sa.column("sequence", sa.BigInteger()),
    sa.column("alert_id", sa.String()),
    sa.column("alert", sa.LargeBinary()),
    sa.column("alert_snapshot", sa.JSON()),
)
_SERIES = sa.table(
    "series",
    sa.column("topic", sa.String()),
    sa.column("channel", sa.String()),
    sa.column("monitor_state", sa.JSON()),
)
# The spike monitor's state fields (versions 1 and 2) that are what it learned, not its episode.
_LEARNED = ("overall", "by_hour", "by_week_hour", "exposure")


def upgrade() -> None:
    # Plain ALTER TABLE throughout: SQLite's batch mode rebuilds a table, and dropping the old
    # one trips the foreign keys that point at it (alert_events, alert_deliveries).
    op.add_column(
        "alerts",
        sa.Column(
            "kind", sa.String(length=32), nullable=False, server_default=sa.text("'negative_share'")
        ),
    )
    op.add_column(
        "alerts",
        sa.Column("baseline_messages", sa.Float(), nullable=False, server_default=sa.text("0")),
    )
    op.drop_index("ix_alerts_series_state", table_name="alerts")
    op.create_index("ix_alerts_series_kind_state", "alerts", ["topic", "channel", "kind", "state"])
    for column in (
        sa.Column("expected_messages", sa.Float(), nullable=False, server_default=sa.text("0")),
        sa.Column(
            "surge_threshold_messages", sa.Integer(), nullable=False, server_default=sa.text("0")
        ),
        sa.Column("surged", sa.Boolean(), nullable=False, server_default=sa.false()),
    ):
        op.add_column("judged_buckets", column)
    # Added with a default and filled, then the old column dropped.
    op.add_column(
        "alert_events",
        sa.Column("alert_snapshot", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(_EVENTS.c.sequence, _EVENTS.c.alert)).all():
        snapshot = _snapshot(events_pb2.Alert.FromString(bytes(row.alert)))
        connection.execute(
            _EVENTS.update()
            .where(_EVENTS.c.sequence == row.sequence)
            .values(alert_snapshot=snapshot)
        )
    op.drop_column("alert_events", "alert")
    _rewrite_monitor_states(_per_kind_state)


def downgrade() -> None:
    op.add_column(
        "alert_events",
        sa.Column("alert", sa.LargeBinary(), nullable=False, server_default=sa.text("''")),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(_EVENTS.c.sequence, _EVENTS.c.alert_snapshot)).all()
    for row in rows:
        payload = _message(row.alert_snapshot).SerializeToString()
        connection.execute(
            _EVENTS.update().where(_EVENTS.c.sequence == row.sequence).values(alert=payload)
        )
    op.drop_column("alert_events", "alert_snapshot")
    for column in ("surged", "surge_threshold_messages", "expected_messages"):
        op.drop_column("judged_buckets", column)
    # Revision 0003's code knows one kind of alert: the others go, with their events.
    volume_alerts = sa.select(_ALERTS.c.alert_id).where(_ALERTS.c.kind != "negative_share")
    volume_events = sa.select(_EVENTS.c.sequence).where(_EVENTS.c.alert_id.in_(volume_alerts))
    connection.execute(_DELIVERIES.delete().where(_DELIVERIES.c.sequence.in_(volume_events)))
    connection.execute(_EVENTS.delete().where(_EVENTS.c.alert_id.in_(volume_alerts)))
    connection.execute(_ALERTS.delete().where(_ALERTS.c.kind != "negative_share"))
    op.drop_index("ix_alerts_series_kind_state", table_name="alerts")
    op.create_index("ix_alerts_series_state", "alerts", ["topic", "channel", "state"])
    op.drop_column("alerts", "baseline_messages")
    op.drop_column("alerts", "kind")
    _rewrite_monitor_states(_spike_monitor_state)


def _rewrite_monitor_states(rewrite: Any) -> None:
    connection = op.get_bind()
    for row in connection.execute(sa.select(_SERIES)).all():
        connection.execute(
            _SERIES.update()
            .where(_SERIES.c.topic == row.topic, _SERIES.c.channel == row.channel)
            .values(monitor_state=rewrite(row.monitor_state))
        )


def _per_kind_state(spike: dict[str, Any]) -> dict[str, Any]:
    """A spike monitor state (version 1 or 2) as SeriesMonitor's negative-share sections."""
    learned = {key: spike[key] for key in _LEARNED}
    learned["sustained_window"] = spike.get("sustained_window")
    return {
        "negative_share": learned,
        "negative_share_incident": {
            "open": spike["episode_open"],
            "quiet_buckets": spike["quiet_buckets"],
            "buckets_since_open": spike["buckets_since_alert"],
        },
    }


def _spike_monitor_state(state: dict[str, Any]) -> dict[str, Any]:
    """SeriesMonitor's negative-share sections as the version 2 spike monitor state."""
    learned, incident = state["negative_share"], state["negative_share_incident"]
    return {
        "version": 2,
        "config": {},  # revision 0003's code always applied its settings over the stored ones
        **{key: learned[key] for key in _LEARNED},
        "sustained_window": learned["sustained_window"],
        "episode_open": incident["open"],
        "quiet_buckets": incident["quiet_buckets"],
        "buckets_since_alert": incident["buckets_since_open"],
    }


def _snapshot(alert: Any) -> dict[str, Any]:
    """A carepulse.v1.Alert of revision 0003 as the snapshot storage/snapshots.py reads."""
    evidence = alert.evidence
    traces = {t.message_id: t for t in evidence.example_traces}
    examples = []
    for message_id in evidence.example_message_ids:
        example = {"message_id": message_id}
        if message_id in traces:
            example |= {"trace_id": traces[message_id].trace_id}
            example |= {"span_id": traces[message_id].span_id}
        examples.append(example)
    ack = alert.acknowledgement if alert.HasField("acknowledgement") else None
    return {
        "alert_id": alert.alert_id,
        "topic": alert.topic,
        "channel": alert.channel,
        "kind": "negative_share",
        "state": events_pb2.AlertState.Name(alert.state).removeprefix("ALERT_STATE_").lower(),
        "severity": events_pb2.Severity.Name(alert.severity).removeprefix("SEVERITY_").lower(),
        "evidence": {
            "negative_count": evidence.negative_count,
            "total_count": evidence.total_count,
            "baseline_negatives": evidence.baseline_negative_rate,
            "baseline_messages": 0.0,
            "score": evidence.score,
            "window_start": _iso(evidence.window_start),
            "window_end": _iso(evidence.window_end),
            "examples": examples,
        },
        "opened_at": _iso(alert.opened_at),
        "updated_at": _iso(alert.updated_at),
        "resolved_at": _iso(alert.resolved_at) if alert.HasField("resolved_at") else None,
        "acknowledgement": (
            None
            if ack is None
            else {"operator": ack.operator, "note": ack.note, "at": _iso(ack.at)}
        ),
    }


def _message(snapshot: dict[str, Any]) -> Any:
    """A snapshot as the carepulse.v1.Alert revision 0003 stored."""
    evidence = snapshot["evidence"]
    ack = snapshot["acknowledgement"]
    alert = events_pb2.Alert(
        alert_id=snapshot["alert_id"],
        topic=snapshot["topic"],
        channel=snapshot["channel"],
        state="ALERT_STATE_" + snapshot["state"].upper(),
        severity="SEVERITY_" + snapshot["severity"].upper(),
        evidence=events_pb2.AlertEvidence(
            negative_count=evidence["negative_count"],
            total_count=evidence["total_count"],
            baseline_negative_rate=evidence["baseline_negatives"],
            score=evidence["score"],
            window_start=_stamp(evidence["window_start"]),
            window_end=_stamp(evidence["window_end"]),
            example_message_ids=[e["message_id"] for e in evidence["examples"]],
            example_traces=[
                events_pb2.MessageTrace(
                    message_id=e["message_id"], trace_id=e["trace_id"], span_id=e["span_id"]
                )
                for e in evidence["examples"]
                if "trace_id" in e
            ],
        ),
        opened_at=_stamp(snapshot["opened_at"]),
        updated_at=_stamp(snapshot["updated_at"]),
    )
    if snapshot["resolved_at"] is not None:
        alert.resolved_at.CopyFrom(_stamp(snapshot["resolved_at"]))
    if ack is not None:
        alert.acknowledgement.CopyFrom(
            events_pb2.Acknowledgement(
                operator=ack["operator"], note=ack["note"], at=_stamp(ack["at"])
            )
        )
    return alert


def _iso(stamp: Timestamp) -> str:
    return stamp.ToDatetime(tzinfo=UTC).isoformat()


def _stamp(text: str) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.fromisoformat(text))
    return stamp
