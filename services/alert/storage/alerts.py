"""The alerts table and its outbox (`alert_events`): one row per alert, one event row per
change of state, written in the transaction that makes the change."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, func, insert, or_, select, update

from services.alert.alerts import (
    Acknowledgement,
    Alert,
    AlertKind,
    AlertState,
    Evidence,
    SeriesKey,
    Severity,
)
from services.alert.storage import schema
from services.alert.storage.deliveries import add_pending_deliveries
from services.alert.storage.messages import examples_from_row, examples_values
from services.alert.storage.snapshots import from_snapshot, to_snapshot


@dataclass(frozen=True)
class StoredEvent:
    sequence: int
    alert: Alert  # as of this change


@dataclass(frozen=True)
class AlertQuery:
    state: AlertState | None = None
    topic: str | None = None
    opened_after: datetime | None = None  # exclusive
    opened_before: datetime | None = None  # exclusive


@dataclass(frozen=True)
class PageCursor:
    """The last alert of a page; the next page starts just after it (newest first)."""

    opened_at: datetime
    alert_id: str


class AlertRows:
    def __init__(self, connection: Connection, destinations: Sequence[str]) -> None:
        self._connection = connection
        self._destinations = destinations
        self.last_event_sequence: int | None = None

    def open_alert(self, key: SeriesKey, kind: AlertKind) -> Alert | None:
        table = schema.alerts
        row = self._connection.execute(
            select(table).where(
                table.c.topic == key.topic,
                table.c.channel == key.channel,
                table.c.kind == kind.value,
                table.c.state != AlertState.RESOLVED.value,
            )
        ).first()
        return None if row is None else _alert_from_row(row._mapping)

    def get(self, alert_id: str) -> Alert | None:
        return get_alert(self._connection, alert_id)

    def insert(self, alert: Alert) -> None:
        self._connection.execute(insert(schema.alerts).values(**_alert_values(alert)))

    def update(self, alert: Alert) -> None:
        table = schema.alerts
        self._connection.execute(
            update(table).where(table.c.alert_id == alert.alert_id).values(**_alert_values(alert))
        )

    def mark_published(self, sequences: Collection[int]) -> None:
        table = schema.alert_events
        self._connection.execute(
            update(table).where(table.c.sequence.in_(list(sequences))).values(published=True)
        )

    def append_event(self, alert: Alert, at: datetime) -> int:
        """Record a lifecycle change in the outbox, with a pending delivery per notification
        destination; returns its sequence number."""
        table = schema.alert_events
        result = self._connection.execute(
            insert(table)
            .values(
                alert_id=alert.alert_id,
                topic=alert.series.topic,
                alert_snapshot=to_snapshot(alert),
                published=False,
                created_at=at,
            )
            .returning(table.c.sequence)
        )
        sequence = int(result.scalar_one())
        add_pending_deliveries(self._connection, sequence, self._destinations, at)
        self.last_event_sequence = sequence
        return sequence


def get_alert(connection: Connection, alert_id: str) -> Alert | None:
    table = schema.alerts
    row = connection.execute(select(table).where(table.c.alert_id == alert_id)).first()
    return None if row is None else _alert_from_row(row._mapping)


def list_alerts(
    connection: Connection, query: AlertQuery, after: PageCursor | None, limit: int
) -> list[Alert]:
    """Newest first; `after` continues a previous page."""
    table = schema.alerts
    conditions = []
    if query.state is not None:
        conditions.append(table.c.state == query.state.value)
    if query.topic is not None:
        conditions.append(table.c.topic == query.topic)
    if query.opened_after is not None:
        conditions.append(table.c.opened_at > query.opened_after)
    if query.opened_before is not None:
        conditions.append(table.c.opened_at < query.opened_before)
    if after is not None:
        conditions.append(
            or_(
                table.c.opened_at < after.opened_at,
                and_(table.c.opened_at == after.opened_at, table.c.alert_id < after.alert_id),
            )
        )
    statement = (
        select(table)
        .where(*conditions)
        .order_by(table.c.opened_at.desc(), table.c.alert_id.desc())
        .limit(limit)
    )
    return [_alert_from_row(row._mapping) for row in connection.execute(statement)]


def open_alerts(connection: Connection) -> list[Alert]:
    """Every firing or acknowledged alert, oldest first."""
    table = schema.alerts
    statement = (
        select(table)
        .where(table.c.state != AlertState.RESOLVED.value)
        .order_by(table.c.opened_at, table.c.alert_id)
    )
    return [_alert_from_row(row._mapping) for row in connection.execute(statement)]


def count_open_alerts(connection: Connection) -> int:
    statement = select(func.count()).where(schema.alerts.c.state != AlertState.RESOLVED.value)
    return int(connection.execute(statement).scalar_one())


def events_after(connection: Connection, sequence: int, limit: int) -> list[StoredEvent]:
    table = schema.alert_events
    statement = (
        select(table).where(table.c.sequence > sequence).order_by(table.c.sequence).limit(limit)
    )
    return [_event_from_row(row._mapping) for row in connection.execute(statement)]


def unpublished_events(connection: Connection, limit: int) -> list[StoredEvent]:
    table = schema.alert_events
    statement = (
        select(table).where(table.c.published.is_(False)).order_by(table.c.sequence).limit(limit)
    )
    return [_event_from_row(row._mapping) for row in connection.execute(statement)]


def latest_sequence(connection: Connection) -> int:
    statement = select(func.max(schema.alert_events.c.sequence))
    return int(connection.execute(statement).scalar_one_or_none() or 0)


def _alert_values(alert: Alert) -> dict[str, Any]:
    evidence = alert.evidence
    ack = alert.acknowledgement
    return {
        "alert_id": alert.alert_id,
        "topic": alert.series.topic,
        "channel": alert.series.channel,
        "kind": alert.kind.value,
        "state": alert.state.value,
        "severity": alert.severity.value,
        "negative_count": evidence.negative_count,
        "total_count": evidence.total_count,
        "baseline_negatives": evidence.baseline_negatives,
        "baseline_messages": evidence.baseline_messages,
        "score": evidence.score,
        "window_start": evidence.window_start,
        "window_end": evidence.window_end,
        **examples_values(evidence.examples),
        "opened_at": alert.opened_at,
        "updated_at": alert.updated_at,
        "resolved_at": alert.resolved_at,
        "acknowledged_by": ack.operator if ack else None,
        "acknowledgement_note": ack.note if ack else None,
        "acknowledged_at": ack.at if ack else None,
    }


def _alert_from_row(row: RowMapping) -> Alert:
    acknowledgement = None
    if row["acknowledged_at"] is not None:
        acknowledgement = Acknowledgement(
            operator=row["acknowledged_by"] or "",
            note=row["acknowledgement_note"] or "",
            at=row["acknowledged_at"],
        )
    return Alert(
        alert_id=row["alert_id"],
        series=SeriesKey(row["topic"], row["channel"]),
        kind=AlertKind(row["kind"]),
        state=AlertState(row["state"]),
        severity=Severity(row["severity"]),
        evidence=Evidence(
            negative_count=row["negative_count"],
            total_count=row["total_count"],
            baseline_negatives=row["baseline_negatives"],
            baseline_messages=row["baseline_messages"],
            score=row["score"],
            window_start=row["window_start"],
            window_end=row["window_end"],
            examples=tuple(examples_from_row(row)),
        ),
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        resolved_at=row["resolved_at"],
        acknowledgement=acknowledgement,
    )


def _event_from_row(row: RowMapping) -> StoredEvent:
    return StoredEvent(sequence=row["sequence"], alert=from_snapshot(row["alert_snapshot"]))
