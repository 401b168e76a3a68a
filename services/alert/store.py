"""Everything the alert service keeps, in one database: counts, detector state, alerts, outbox.

Writes go through `transaction()`, which serializes writers in this process: the consumer,
the bucket ticker and acknowledgements never interleave, so a bucket cannot be counted into
after it was closed, and outbox sequences commit in the order they were assigned (a stream
reading `sequence > n` never skips a late-committing row). The service therefore runs as a
single replica per database.
"""

import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from servicekit.database import database_reachable
from services.alert import schema
from services.alert.alerts import (
    Acknowledgement,
    Alert,
    AlertState,
    Evidence,
    ExampleMessage,
    SeriesKey,
    Severity,
    SpanRef,
)
from services.alert.buckets import BucketTally
from services.alert.deliveries import DeliveryState
from services.alert.events import to_alert_message
from services.alert.judged_buckets import JudgedBucket

# Bound parameters per IN (...) list: well under SQLite's and PostgreSQL's limits.
_IN_CHUNK = 500


@dataclass(frozen=True)
class SeriesState:
    monitor_state: dict[str, Any]  # the spike monitor's to_state()
    last_closed_bucket: datetime


@dataclass(frozen=True)
class StoredEvent:
    sequence: int
    alert_id: str
    topic: str
    alert_payload: bytes  # a serialized carepulse.v1.Alert


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


class AlertStore:
    def __init__(
        self,
        engine: Engine,
        *,
        on_events_committed: Callable[[int], None] | None = None,
        notification_destinations: Sequence[str] = (),
    ) -> None:
        self._engine = engine
        self._write_lock = threading.Lock()
        self._on_events_committed = on_events_committed or (lambda _sequence: None)
        # Every lifecycle event gets a pending delivery row for each of these.
        self._destinations = tuple(notification_destinations)

    @contextmanager
    def transaction(self) -> Iterator["AlertTransaction"]:
        """One atomic unit of work; outbox readers are woken once it has committed."""
        with self._write_lock:
            with self._engine.begin() as connection:
                tx = AlertTransaction(connection, self._destinations)
                yield tx
            if tx.last_event_sequence is not None:
                self._on_events_committed(tx.last_event_sequence)

    def reachable(self) -> bool:
        return database_reachable(self._engine)

    def series_with_due_buckets(self, last_due: datetime, width: timedelta) -> list[SeriesKey]:
        """Series with a bucket starting at or before `last_due` that is not closed yet.

        Known series are due every interval (quiet ones get empty buckets); new ones once
        they have counts. Cheap enough for the ticker to ask twice a second.
        """
        known = select(schema.series.c.topic, schema.series.c.channel).where(
            schema.series.c.last_closed_bucket <= last_due - width
        )
        pending = select(schema.open_buckets.c.topic, schema.open_buckets.c.channel).where(
            schema.open_buckets.c.bucket_start <= last_due
        )
        with self._engine.connect() as connection:
            rows = [*connection.execute(known), *connection.execute(pending)]
        return sorted({SeriesKey(row.topic, row.channel) for row in rows})

    def get_alert(self, alert_id: str) -> Alert | None:
        with self._engine.connect() as connection:
            return _get_alert(connection, alert_id)

    def list_alerts(self, query: AlertQuery, after: PageCursor | None, limit: int) -> list[Alert]:
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
        with self._engine.connect() as connection:
            return [_alert_from_row(row._mapping) for row in connection.execute(statement)]

    def judged_buckets(
        self, key: SeriesKey, start: datetime, end: datetime, limit: int
    ) -> list[JudgedBucket]:
        """The series' judged buckets starting in [start, end), oldest first, at most `limit`."""
        table = schema.judged_buckets
        statement = (
            select(table)
            .where(
                table.c.topic == key.topic,
                table.c.channel == key.channel,
                table.c.bucket_start >= start,
                table.c.bucket_start < end,
            )
            .order_by(table.c.bucket_start)
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [_judged_from_row(row._mapping) for row in connection.execute(statement)]

    def open_alerts(self) -> list[Alert]:
        """Every firing or acknowledged alert, oldest first."""
        table = schema.alerts
        statement = (
            select(table)
            .where(table.c.state != AlertState.RESOLVED.value)
            .order_by(table.c.opened_at, table.c.alert_id)
        )
        with self._engine.connect() as connection:
            return [_alert_from_row(row._mapping) for row in connection.execute(statement)]

    def count_open_alerts(self) -> int:
        statement = select(func.count()).where(schema.alerts.c.state != AlertState.RESOLVED.value)
        with self._engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def events_after(self, sequence: int, limit: int) -> list[StoredEvent]:
        table = schema.alert_events
        statement = (
            select(table).where(table.c.sequence > sequence).order_by(table.c.sequence).limit(limit)
        )
        with self._engine.connect() as connection:
            return [_event_from_row(row._mapping) for row in connection.execute(statement)]

    def unpublished_events(self, limit: int) -> list[StoredEvent]:
        table = schema.alert_events
        statement = (
            select(table)
            .where(table.c.published.is_(False))
            .order_by(table.c.sequence)
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [_event_from_row(row._mapping) for row in connection.execute(statement)]

    def latest_sequence(self) -> int:
        statement = select(func.max(schema.alert_events.c.sequence))
        with self._engine.connect() as connection:
            return int(connection.execute(statement).scalar_one_or_none() or 0)

    def mark_published(self, sequences: Collection[int]) -> None:
        table = schema.alert_events
        with self.transaction() as tx:
            tx.connection.execute(
                update(table).where(table.c.sequence.in_(list(sequences))).values(published=True)
            )

    def forget_processed_before(self, moment: datetime) -> int:
        """Drop ids older than any record Kafka could still redeliver; returns how many."""
        table = schema.processed_messages
        with self.transaction() as tx:
            result = tx.connection.execute(delete(table).where(table.c.processed_at < moment))
        return int(result.rowcount)


class AlertTransaction:
    """The writes (and the reads they depend on) of one transaction."""

    def __init__(self, connection: Connection, destinations: Sequence[str] = ()) -> None:
        self.connection = connection
        self.last_event_sequence: int | None = None
        self._destinations = destinations

    # Idempotency ---------------------------------------------------------------------------

    def unseen_message_ids(self, message_ids: Collection[str]) -> set[str]:
        table = schema.processed_messages
        unseen = set(message_ids)
        ids = list(unseen)
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            seen = self.connection.execute(
                select(table.c.message_id).where(table.c.message_id.in_(chunk))
            )
            unseen.difference_update(row.message_id for row in seen)
        return unseen

    def mark_processed(self, message_ids: Collection[str], at: datetime) -> None:
        if message_ids:
            self.connection.execute(
                insert(schema.processed_messages),
                [{"message_id": message_id, "processed_at": at} for message_id in message_ids],
            )

    # Open buckets ---------------------------------------------------------------------------

    def add_to_open_buckets(
        self, tallies: Mapping[tuple[SeriesKey, datetime], BucketTally]
    ) -> None:
        table = schema.open_buckets
        for (key, bucket_start), tally in tallies.items():
            where = (
                table.c.topic == key.topic,
                table.c.channel == key.channel,
                table.c.bucket_start == bucket_start,
            )
            row = self.connection.execute(select(table).where(*where)).first()
            if row is None:
                self.connection.execute(
                    insert(table).values(
                        topic=key.topic,
                        channel=key.channel,
                        bucket_start=bucket_start,
                        negative_count=tally.negative,
                        total_count=tally.total,
                        **_examples_values(tally.examples),
                    )
                )
                continue
            merged = _tally_from_row(row._mapping)
            merged.merge(tally)
            self.connection.execute(
                update(table)
                .where(*where)
                .values(
                    negative_count=merged.negative,
                    total_count=merged.total,
                    **_examples_values(merged.examples),
                )
            )

    def open_buckets_through(
        self, key: SeriesKey, last_start: datetime
    ) -> dict[datetime, BucketTally]:
        table = schema.open_buckets
        rows = self.connection.execute(
            select(table)
            .where(
                table.c.topic == key.topic,
                table.c.channel == key.channel,
                table.c.bucket_start <= last_start,
            )
            .order_by(table.c.bucket_start)
        )
        return {row.bucket_start: _tally_from_row(row._mapping) for row in rows}

    def delete_open_buckets_through(self, key: SeriesKey, last_start: datetime) -> None:
        table = schema.open_buckets
        self.connection.execute(
            delete(table).where(
                table.c.topic == key.topic,
                table.c.channel == key.channel,
                table.c.bucket_start <= last_start,
            )
        )

    # Series ---------------------------------------------------------------------------------

    def last_closed_buckets(self, keys: Collection[SeriesKey]) -> dict[SeriesKey, datetime]:
        table = schema.series
        wanted = set(keys)
        if not wanted:
            return {}
        topics = sorted({key.topic for key in wanted})
        rows = self.connection.execute(
            select(table.c.topic, table.c.channel, table.c.last_closed_bucket).where(
                table.c.topic.in_(topics)
            )
        )
        closed = {SeriesKey(row.topic, row.channel): row.last_closed_bucket for row in rows}
        return {key: moment for key, moment in closed.items() if key in wanted}

    def series_state(self, key: SeriesKey) -> SeriesState | None:
        table = schema.series
        row = self.connection.execute(
            select(table).where(table.c.topic == key.topic, table.c.channel == key.channel)
        ).first()
        if row is None:
            return None
        return SeriesState(row.monitor_state, row.last_closed_bucket)

    def save_series_state(self, key: SeriesKey, state: SeriesState) -> None:
        table = schema.series
        values = {
            "monitor_state": state.monitor_state,
            "last_closed_bucket": state.last_closed_bucket,
        }
        updated = self.connection.execute(
            update(table)
            .where(table.c.topic == key.topic, table.c.channel == key.channel)
            .values(**values)
        )
        if updated.rowcount == 0:
            self.connection.execute(
                insert(table).values(topic=key.topic, channel=key.channel, **values)
            )

    # Judged buckets -------------------------------------------------------------------------

    def save_judged_buckets(self, key: SeriesKey, buckets: Sequence[JudgedBucket]) -> None:
        if buckets:
            self.connection.execute(
                insert(schema.judged_buckets),
                [
                    {"topic": key.topic, "channel": key.channel, **_judged_values(bucket)}
                    for bucket in buckets
                ],
            )

    def forget_judged_buckets_before(self, key: SeriesKey, moment: datetime) -> None:
        table = schema.judged_buckets
        self.connection.execute(
            delete(table).where(
                table.c.topic == key.topic,
                table.c.channel == key.channel,
                table.c.bucket_start < moment,
            )
        )

    # Alerts and their outbox ---------------------------------------------------------------

    def open_alert(self, key: SeriesKey) -> Alert | None:
        table = schema.alerts
        row = self.connection.execute(
            select(table).where(
                table.c.topic == key.topic,
                table.c.channel == key.channel,
                table.c.state != AlertState.RESOLVED.value,
            )
        ).first()
        return None if row is None else _alert_from_row(row._mapping)

    def get_alert(self, alert_id: str) -> Alert | None:
        return _get_alert(self.connection, alert_id)

    def insert_alert(self, alert: Alert) -> None:
        self.connection.execute(insert(schema.alerts).values(**_alert_values(alert)))

    def update_alert(self, alert: Alert) -> None:
        table = schema.alerts
        self.connection.execute(
            update(table).where(table.c.alert_id == alert.alert_id).values(**_alert_values(alert))
        )

    def append_event(self, alert: Alert, at: datetime) -> int:
        """Record a lifecycle change in the outbox; returns its sequence number."""
        table = schema.alert_events
        result = self.connection.execute(
            insert(table)
            .values(
                alert_id=alert.alert_id,
                topic=alert.series.topic,
                alert=to_alert_message(alert).SerializeToString(),
                published=False,
                created_at=at,
            )
            .returning(table.c.sequence)
        )
        sequence = int(result.scalar_one())
        if self._destinations:
            self.connection.execute(
                insert(schema.alert_deliveries),
                [
                    {
                        "destination": destination,
                        "sequence": sequence,
                        "state": DeliveryState.PENDING.value,
                        "attempts": 0,
                        "next_attempt_at": at,
                        "updated_at": at,
                    }
                    for destination in self._destinations
                ],
            )
        self.last_event_sequence = sequence
        return sequence


def _get_alert(connection: Connection, alert_id: str) -> Alert | None:
    table = schema.alerts
    row = connection.execute(select(table).where(table.c.alert_id == alert_id)).first()
    return None if row is None else _alert_from_row(row._mapping)


def _tally_from_row(row: RowMapping) -> BucketTally:
    return BucketTally(
        negative=row["negative_count"],
        total=row["total_count"],
        examples=_examples_from_row(row),
    )


def _examples_values(examples: Sequence[ExampleMessage]) -> dict[str, Any]:
    return {
        "example_message_ids": [example.message_id for example in examples],
        "example_traces": [
            {
                "message_id": example.message_id,
                "trace_id": example.producer_span.trace_id,
                "span_id": example.producer_span.span_id,
            }
            for example in examples
            if example.producer_span is not None
        ],
    }


def _examples_from_row(row: RowMapping) -> list[ExampleMessage]:
    spans = {
        trace["message_id"]: SpanRef(trace["trace_id"], trace["span_id"])
        for trace in row["example_traces"]
    }
    return [
        ExampleMessage(message_id, spans.get(message_id))
        for message_id in row["example_message_ids"]
    ]


def _alert_values(alert: Alert) -> dict[str, Any]:
    evidence = alert.evidence
    ack = alert.acknowledgement
    return {
        "alert_id": alert.alert_id,
        "topic": alert.series.topic,
        "channel": alert.series.channel,
        "state": alert.state.value,
        "severity": alert.severity.value,
        "negative_count": evidence.negative_count,
        "total_count": evidence.total_count,
        "baseline_negatives": evidence.baseline_negatives,
        "score": evidence.score,
        "window_start": evidence.window_start,
        "window_end": evidence.window_end,
        **_examples_values(evidence.examples),
        "opened_at": alert.opened_at,
        "updated_at": alert.updated_at,
        "resolved_at": alert.resolved_at,
        "acknowledged_by": ack.operator if ack else None,
        "acknowledgement_note": ack.note if ack else None,
        "acknowledged_at": ack.at if ack else None,
    }


def _judged_values(bucket: JudgedBucket) -> dict[str, Any]:
    return {
        "bucket_start": bucket.start,
        "negative_count": bucket.negative,
        "total_count": bucket.total,
        "expected_negatives": bucket.expected_negatives,
        "spike_threshold_negatives": bucket.spike_threshold_negatives,
        "spiked": bucket.spiked,
    }


def _judged_from_row(row: RowMapping) -> JudgedBucket:
    return JudgedBucket(
        start=row["bucket_start"],
        negative=row["negative_count"],
        total=row["total_count"],
        expected_negatives=row["expected_negatives"],
        spike_threshold_negatives=row["spike_threshold_negatives"],
        spiked=bool(row["spiked"]),
    )


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
        state=AlertState(row["state"]),
        severity=Severity(row["severity"]),
        evidence=Evidence(
            negative_count=row["negative_count"],
            total_count=row["total_count"],
            baseline_negatives=row["baseline_negatives"],
            score=row["score"],
            window_start=row["window_start"],
            window_end=row["window_end"],
            examples=tuple(_examples_from_row(row)),
        ),
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        resolved_at=row["resolved_at"],
        acknowledgement=acknowledgement,
    )


def _event_from_row(row: RowMapping) -> StoredEvent:
    return StoredEvent(
        sequence=row["sequence"],
        alert_id=row["alert_id"],
        topic=row["topic"],
        alert_payload=bytes(row["alert"]),
    )
