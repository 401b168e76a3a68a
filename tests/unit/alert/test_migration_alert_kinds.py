"""Revision 0004 (two alert kinds, outbox snapshots) carries a 0003 database's data both ways."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from carepulse.v1 import events_pb2
from sqlalchemy import Engine, select

from servicekit.database import create_database_engine
from servicekit.migrations import upgrade_to_head
from servicekit.timestamps import to_timestamp
from services.alert.alerts import AlertKind, AlertState, ExampleMessage, SeriesKey, SpanRef
from services.alert.detection.series_monitor import MonitorConfig, SeriesMonitor
from services.alert.migrations import ALERT_MIGRATIONS
from services.alert.storage import schema
from services.alert.storage.deliveries import DeliveryQueue
from services.alert.storage.store import AlertStore
from tests.unit.alert.legacy_schema import (
    LEGACY_ALERT_ID,
    T_LEGACY,
    alert_deliveries,
    alert_events,
    create_legacy_database,
)

CARD = SeriesKey("card_declined", "chat")
TRACE = SpanRef("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")


def _acknowledged_alert_message() -> events_pb2.Alert:
    """The legacy alert as revision 0003 published its acknowledgement."""
    return events_pb2.Alert(
        alert_id=LEGACY_ALERT_ID,
        topic=CARD.topic,
        channel=CARD.channel,
        state=events_pb2.ALERT_STATE_ACKNOWLEDGED,
        severity=events_pb2.SEVERITY_WARNING,
        evidence=events_pb2.AlertEvidence(
            negative_count=2,
            total_count=3,
            baseline_negative_rate=0.5,
            score=0.7,
            window_start=to_timestamp(T_LEGACY),
            window_end=to_timestamp(T_LEGACY + timedelta(minutes=1)),
            example_message_ids=["m-old-1", "m-old-2"],
            example_traces=[
                events_pb2.MessageTrace(
                    message_id="m-old-1", trace_id=TRACE.trace_id, span_id=TRACE.span_id
                )
            ],
        ),
        opened_at=to_timestamp(T_LEGACY),
        updated_at=to_timestamp(T_LEGACY + timedelta(minutes=2)),
        acknowledgement=events_pb2.Acknowledgement(
            operator="ana", note="on it", at=to_timestamp(T_LEGACY + timedelta(minutes=2))
        ),
    )


def _spike_monitor_state() -> dict[str, Any]:
    """What revision 0003's NegativeSpikeMonitor stored (version 2), mid-episode."""
    learned = SeriesMonitor(MonitorConfig()).to_state()["negative_share"]
    assert isinstance(learned, dict)
    return {
        "version": 2,
        "config": {"min_negatives": 10},
        **{key: learned[key] for key in ("overall", "by_hour", "by_week_hour")},
        "exposure": 17.5,
        "sustained_window": [[3, 1.5], [4, 1.25]],
        "episode_open": True,
        "quiet_buckets": 1,
        "buckets_since_alert": 4,
    }


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A 0003 database holding an outbox event (pending for a webhook) and a series' state."""
    engine = create_database_engine(None, tmp_path / "alert.db")
    create_legacy_database(engine)
    upgrade_to_head(engine, ALERT_MIGRATIONS)
    with engine.begin() as connection:
        command.downgrade(ALERT_MIGRATIONS.config(connection), "0003")
        connection.execute(
            alert_events.insert().values(
                sequence=1,
                alert_id=LEGACY_ALERT_ID,
                topic=CARD.topic,
                alert=_acknowledged_alert_message().SerializeToString(),
                published=False,
                created_at=T_LEGACY,
            )
        )
        connection.execute(
            alert_deliveries.insert().values(
                destination="webhook:a",
                sequence=1,
                state="pending",
                attempts=0,
                next_attempt_at=T_LEGACY,
                updated_at=T_LEGACY,
            )
        )
        connection.execute(
            schema.series.insert().values(
                topic=CARD.topic,
                channel=CARD.channel,
                monitor_state=_spike_monitor_state(),
                last_closed_bucket=T_LEGACY,
            )
        )
    return engine


def test_outbox_events_become_snapshots_of_negative_share_alerts(engine: Engine) -> None:
    upgrade_to_head(engine, ALERT_MIGRATIONS)

    (event,) = AlertStore(engine).events_after(0, 10)
    (pending,) = DeliveryQueue(engine).pending("webhook:a", 10)

    alert = event.alert
    assert pending.alert == alert
    assert (alert.alert_id, alert.series, alert.kind) == (
        LEGACY_ALERT_ID,
        CARD,
        AlertKind.NEGATIVE_SHARE,
    )
    assert alert.state is AlertState.ACKNOWLEDGED
    assert alert.acknowledgement is not None and alert.acknowledgement.operator == "ana"
    assert alert.evidence.examples == (
        ExampleMessage("m-old-1", TRACE),
        ExampleMessage("m-old-2"),
    )
    assert (alert.evidence.window_start, alert.evidence.baseline_negatives) == (T_LEGACY, 0.5)
    stored = AlertStore(engine).get_alert(LEGACY_ALERT_ID)
    assert stored is not None and stored.kind is AlertKind.NEGATIVE_SHARE


def test_the_spike_monitors_state_continues_as_the_negative_share_kind(engine: Engine) -> None:
    upgrade_to_head(engine, ALERT_MIGRATIONS)
    with engine.connect() as connection:
        state = connection.execute(select(schema.series.c.monitor_state)).scalar_one()

    restored = SeriesMonitor.from_state(state, MonitorConfig()).to_state()

    assert restored["negative_share"] == {
        **{key: _spike_monitor_state()[key] for key in ("overall", "by_hour", "by_week_hour")},
        "exposure": 17.5,
        "sustained_window": [[3, 1.5], [4, 1.25]],
    }
    assert restored["negative_share_incident"] == {
        "open": True,
        "quiet_buckets": 1,
        "buckets_since_open": 4,
    }


def test_downgrading_gives_back_the_protobuf_events_and_the_spike_state(engine: Engine) -> None:
    upgrade_to_head(engine, ALERT_MIGRATIONS)
    with engine.begin() as connection:
        command.downgrade(ALERT_MIGRATIONS.config(connection), "0003")
        payload = connection.execute(select(alert_events.c.alert)).scalar_one()
        state = connection.execute(select(schema.series.c.monitor_state)).scalar_one()

    assert events_pb2.Alert.FromString(payload) == _acknowledged_alert_message()
    assert state == {**_spike_monitor_state(), "config": {}}
