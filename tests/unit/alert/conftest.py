"""A detection pipeline on a SQLite file, driven by a fake clock one bucket at a time."""

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from servicekit.database import create_database_engine
from servicekit.migrations import upgrade_to_head
from services.alert.alerts import (
    Alert,
    AlertKind,
    AlertState,
    Evidence,
    ExampleMessage,
    SeriesKey,
    Severity,
    SpanRef,
)
from services.alert.detection.incidents import IncidentRules
from services.alert.detection.series_monitor import MonitorConfig
from services.alert.lifecycle.alert_lifecycle import AlertLifecycle
from services.alert.lifecycle.bucket_closer import BucketCloser, CloseResult
from services.alert.lifecycle.counting import CountResult, MessageCounter, Observation
from services.alert.lifecycle.severity import SeverityPolicy
from services.alert.migrations import ALERT_MIGRATIONS
from services.alert.notification.event_feed import EventFeed
from services.alert.storage.alerts import AlertQuery
from services.alert.storage.store import AlertStore

WIDTH = timedelta(seconds=60)
HISTORY = timedelta(hours=2)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CARD = SeriesKey(topic="card_declined", channel="chat")
# Short incidents, so the tests see alerts open, resolve and open again within minutes.
RULES = IncidentRules(cooldown_buckets=2, resolve_after_buckets=3)
MONITOR_CONFIG = MonitorConfig(negative_share_incidents=RULES, volume_incidents=RULES)
BASELINE_BUCKETS = 30


def producer_span(message_id: str) -> SpanRef:
    """A made-up producer span, distinct per message id."""
    digest = hashlib.sha256(message_id.encode()).hexdigest()
    return SpanRef(trace_id=digest[:32], span_id=digest[32:48])


def traced(observations: list[Observation]) -> list[Observation]:
    """The observations as if each record had carried its producer span's trace context."""
    return [replace(o, producer_span=producer_span(o.message_id)) for o in observations]


def make_alert(
    alert_id: str = "a-1",
    series: SeriesKey = CARD,
    *,
    kind: AlertKind = AlertKind.NEGATIVE_SHARE,
    state: AlertState = AlertState.FIRING,
    opened_at: datetime = START,
) -> Alert:
    """An alert as the lifecycle would store it, for tests of what reads alerts."""
    return Alert(
        alert_id=alert_id,
        series=series,
        kind=kind,
        state=state,
        severity=Severity.WARNING,
        evidence=Evidence(
            negative_count=10,
            total_count=12,
            baseline_negatives=1.5,
            baseline_messages=0.0,
            score=0.999,
            window_start=opened_at,
            window_end=opened_at + WIDTH,
            examples=(ExampleMessage("m-1", producer_span("m-1")),),
        ),
        opened_at=opened_at,
        updated_at=opened_at,
    )


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Pipeline:
    """What main.py wires, minus Kafka and gRPC: counter → store → closer → lifecycle."""

    def __init__(
        self,
        db_file: Path,
        clock: FakeClock,
        *,
        database_url: str | None = None,
        notification_destinations: Sequence[str] = (),
    ) -> None:
        self.db_file = db_file
        self.clock = clock
        self.database_url = database_url
        self.notification_destinations = notification_destinations
        self.engine = create_database_engine(database_url, db_file)
        self.feed = EventFeed()
        self.store = AlertStore(
            self.engine,
            on_events_committed=self.feed.committed,
            notification_destinations=notification_destinations,
        )
        upgrade_to_head(self.engine, ALERT_MIGRATIONS)
        self.lifecycle = AlertLifecycle(self.store, SeverityPolicy(0.999, 50), clock=clock)
        self.counter = MessageCounter(self.store, WIDTH, clock=clock)
        # No lateness: a bucket closes as soon as the clock passes its end.
        self.closer = BucketCloser(
            self.store,
            self.lifecycle,
            MONITOR_CONFIG,
            bucket_width=WIDTH,
            allowed_lateness=timedelta(0),
            history=HISTORY,
            clock=clock,
        )
        self._next_id = 0

    def observations(
        self, negatives: int, total: int, series: SeriesKey = CARD
    ) -> list[Observation]:
        """`total` messages received now, of which `negatives` are negative."""
        batch = []
        for index in range(total):
            self._next_id += 1
            batch.append(
                Observation(
                    message_id=f"m-{self._next_id}",
                    series=series,
                    received_at=self.clock.now,
                    negative=index < negatives,
                )
            )
        return batch

    def count(self, observations: list[Observation]) -> CountResult:
        return self.counter.count(observations)

    def bucket(self, negatives: int, total: int, series: SeriesKey = CARD) -> CloseResult:
        """Count one bucket's messages, then let the clock pass its end and close it."""
        if total:
            self.count(self.observations(negatives, total, series))
        return self.next_bucket()

    def next_bucket(self) -> CloseResult:
        self.clock.now += WIDTH
        return self.closer.close_due()

    def baseline(self, buckets: int = BASELINE_BUCKETS, series: SeriesKey = CARD) -> None:
        for _ in range(buckets):
            self.bucket(negatives=1, total=20, series=series)

    def alerts(self, series: SeriesKey = CARD) -> list[Alert]:
        return self.store.list_alerts(AlertQuery(topic=series.topic), None, 100)

    def restarted(self) -> "Pipeline":
        """A new process on the same database file, as after kill -9: no memory carried over."""
        self.engine.dispose()
        restarted = Pipeline(
            self.db_file,
            self.clock,
            database_url=self.database_url,
            notification_destinations=self.notification_destinations,
        )
        restarted._next_id = self._next_id  # new messages keep arriving with new ids
        return restarted

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def pipeline(tmp_path: Path, clock: FakeClock) -> Iterator[Pipeline]:
    pipeline = Pipeline(tmp_path / "alert.db", clock)
    yield pipeline
    pipeline.close()
