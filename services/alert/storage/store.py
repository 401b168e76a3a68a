"""The alert service's database: one transaction per unit of work, and the reads outside them.

Writes go through `transaction()`, which serializes writers in this process: the consumer,
the bucket ticker and acknowledgements never interleave, so a bucket cannot be counted into
after it was closed, and outbox sequences commit in the order they were assigned (a stream
reading `sequence > n` never skips a late-committing row). The service therefore runs as a
single replica per database.
"""

import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from servicekit.database import database_reachable
from services.alert.alerts import Alert, SeriesKey
from services.alert.detection.judged_buckets import JudgedBucket
from services.alert.storage import alerts, series
from services.alert.storage.alerts import AlertQuery, AlertRows, PageCursor, StoredEvent
from services.alert.storage.messages import MessageRows
from services.alert.storage.series import SeriesRows


class AlertTransaction:
    """One atomic unit of work over every table group."""

    def __init__(self, connection: Connection, destinations: Sequence[str]) -> None:
        self.messages = MessageRows(connection)
        self.series = SeriesRows(connection)
        self.alerts = AlertRows(connection, destinations)


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
    def transaction(self) -> Iterator[AlertTransaction]:
        """One atomic unit of work; outbox readers are woken once it has committed."""
        with self._write_lock:
            with self._engine.begin() as connection:
                tx = AlertTransaction(connection, self._destinations)
                yield tx
            if tx.alerts.last_event_sequence is not None:
                self._on_events_committed(tx.alerts.last_event_sequence)

    def reachable(self) -> bool:
        return database_reachable(self._engine)

    def series_with_due_buckets(self, last_due: datetime, width: timedelta) -> list[SeriesKey]:
        """Series with a bucket starting at or before `last_due` that is not closed yet.

        Known series are due every interval (quiet ones get empty buckets); new ones once
        they have counts. Cheap enough for the ticker to ask twice a second.
        """
        with self._engine.connect() as connection:
            return series.series_with_due_buckets(connection, last_due, last_due - width)

    def judged_buckets(
        self, key: SeriesKey, start: datetime, end: datetime, limit: int
    ) -> list[JudgedBucket]:
        with self._engine.connect() as connection:
            return series.judged_buckets(connection, key, start, end, limit)

    def get_alert(self, alert_id: str) -> Alert | None:
        with self._engine.connect() as connection:
            return alerts.get_alert(connection, alert_id)

    def list_alerts(self, query: AlertQuery, after: PageCursor | None, limit: int) -> list[Alert]:
        with self._engine.connect() as connection:
            return alerts.list_alerts(connection, query, after, limit)

    def open_alerts(self) -> list[Alert]:
        with self._engine.connect() as connection:
            return alerts.open_alerts(connection)

    def count_open_alerts(self) -> int:
        with self._engine.connect() as connection:
            return alerts.count_open_alerts(connection)

    def events_after(self, sequence: int, limit: int) -> list[StoredEvent]:
        with self._engine.connect() as connection:
            return alerts.events_after(connection, sequence, limit)

    def unpublished_events(self, limit: int) -> list[StoredEvent]:
        with self._engine.connect() as connection:
            return alerts.unpublished_events(connection, limit)

    def latest_sequence(self) -> int:
        with self._engine.connect() as connection:
            return alerts.latest_sequence(connection)

    def mark_published(self, sequences: Collection[int]) -> None:
        with self.transaction() as tx:
            tx.alerts.mark_published(sequences)

    def forget_processed_before(self, moment: datetime) -> int:
        """Drop ids older than any record Kafka could still redeliver; returns how many."""
        with self.transaction() as tx:
            return tx.messages.forget_processed_before(moment)
