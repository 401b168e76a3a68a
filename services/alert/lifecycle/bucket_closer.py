"""Closes due time buckets and feeds them, in order, to each series' monitor.

A bucket is due once its end plus the allowed lateness has passed on the wall clock. A series
with history gets a zero-count bucket for every quiet interval, so the monitor sees time pass
and an incident resolves even when its topic goes silent. Per series, the monitor's new state,
the alert changes of every kind and their outbox rows commit in one transaction: a crash at
any point leaves either all of it or none, and the restarted process picks up where the
database says. Each bucket's verdict is kept for `history` in the same transaction: the time
series an alert's evidence is drawn on.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.alert.alerts import Alert, SeriesKey
from services.alert.buckets import BucketTally, bucket_start_of
from services.alert.detection.counts import BucketCounts
from services.alert.detection.judged_buckets import JudgedBucket, judged_bucket
from services.alert.detection.series_monitor import MonitorConfig, SeriesMonitor
from services.alert.lifecycle.alert_lifecycle import AlertLifecycle, ClosedBucket
from services.alert.lifecycle.negative_ratio import TopicNegativeRatios
from services.alert.metrics import ALERTS_OPENED, BUCKETS_CLOSED, OPEN_ALERTS
from services.alert.spans import judging_bucket, record_verdict
from services.alert.storage.series import SeriesState
from services.alert.storage.store import AlertStore, AlertTransaction

log = logging.getLogger(__name__)


@dataclass
class CloseResult:
    buckets_closed: int = 0
    alerts_opened: list[Alert] = field(default_factory=list)


class BucketCloser:
    def __init__(
        self,
        store: AlertStore,
        lifecycle: AlertLifecycle,
        monitor_config: MonitorConfig,
        *,
        bucket_width: timedelta,
        allowed_lateness: timedelta,
        history: timedelta,
        not_before: datetime | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._lifecycle = lifecycle
        self._monitor_config = monitor_config
        self._width = bucket_width
        self._lateness = allowed_lateness
        self._history = history
        self._not_before = not_before
        self._clock = clock
        self._negative_ratios = TopicNegativeRatios()

    def close_due(self) -> CloseResult:
        now = self._clock()
        result = CloseResult()
        if self._not_before is not None and now < self._not_before:
            return result
        last_due = bucket_start_of(now - self._lateness - self._width, self._width)
        for series in self._store.series_with_due_buckets(last_due, self._width):
            with self._store.transaction() as tx:
                closed, opened, last = self._close_series(tx, series, last_due, now)
            # Counted only once committed: a rolled-back series is retried on the next tick.
            BUCKETS_CLOSED.inc(closed)
            for alert in opened:
                ALERTS_OPENED.labels(
                    alert.series.topic, alert.severity.value, alert.kind.value
                ).inc()
            if last is not None:
                self._negative_ratios.bucket_closed(series, last.start, last.tally)
            result.buckets_closed += closed
            result.alerts_opened += opened
        if result.buckets_closed:
            OPEN_ALERTS.set(self._store.count_open_alerts())
        return result

    def _close_series(
        self, tx: AlertTransaction, series: SeriesKey, last_due: datetime, now: datetime
    ) -> tuple[int, list[Alert], ClosedBucket | None]:
        """Buckets closed, alerts opened, and the last bucket closed."""
        state = tx.series.state(series)
        pending = tx.messages.open_buckets_through(series, last_due)
        if state is not None:
            first = state.last_closed_bucket + self._width
            monitor = self._restore_monitor(series, state)
        elif pending:
            first = min(pending)
            monitor = SeriesMonitor(self._monitor_config)
        else:
            return 0, [], None
        if first > last_due:
            return 0, [], None
        opened: list[Alert] = []
        judged: list[JudgedBucket] = []
        start, closed, bucket = first, 0, None
        while start <= last_due:
            bucket = ClosedBucket(start, start + self._width, pending.get(start, BucketTally()))
            verdict = monitor.observe(
                BucketCounts(start, bucket.tally.negative, bucket.tally.total)
            )
            judged.append(judged_bucket(verdict))
            for kind_verdict in verdict.by_kind:
                with judging_bucket(series, kind_verdict.kind, bucket.start, bucket.tally) as span:
                    record_verdict(span, kind_verdict)
                    alert = self._lifecycle.on_bucket_closed(tx, series, bucket, kind_verdict, now)
                if alert is not None:
                    opened.append(alert)
            start += self._width
            closed += 1
        tx.messages.delete_open_buckets_through(series, last_due)
        tx.series.save_judged_buckets(series, judged)
        tx.series.forget_judged_buckets_before(series, last_due - self._history)
        tx.series.save_state(series, SeriesState(monitor.to_state(), last_due))
        return closed, opened, bucket

    def _restore_monitor(self, series: SeriesKey, state: SeriesState) -> SeriesMonitor:
        try:
            # The settings, not the state, carry the configuration: a tuning change applies
            # to existing series and not only to new ones.
            return SeriesMonitor.from_state(state.monitor_state, self._monitor_config)
        except (ValueError, KeyError, TypeError):
            # A state this version cannot read (e.g. written by an incompatible detector)
            # would stop the series forever; relearning its baseline is the lesser loss.
            log.warning(
                "unreadable monitor state; relearning the baseline",
                exc_info=True,
                extra={"topic": series.topic, "channel": series.channel},
            )
            return SeriesMonitor(self._monitor_config)
