"""The alert lifecycle: firing → acknowledged → resolved, one alert per incident and kind.

When an alert opens, goes on or resolves is the series monitor's decision
(:mod:`services.alert.detection.incidents`); this module carries it out against the store.
Every change of state is written to the outbox in the transaction that makes it, so the
`alerts` topic and alert streams see exactly the changes the database holds. Evidence updates
while an incident goes on are not lifecycle changes: they update the alert only.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from servicekit.metrics import trace_exemplar
from services.alert.alerts import (
    MAX_EXAMPLE_MESSAGE_IDS,
    Acknowledgement,
    Alert,
    AlertKind,
    AlertState,
    Evidence,
    SeriesKey,
    Severity,
)
from services.alert.buckets import BucketTally
from services.alert.detection.incidents import Decision
from services.alert.detection.series_monitor import KindVerdict
from services.alert.errors import AlertAlreadyResolved, AlertNotFound
from services.alert.lifecycle.severity import SeverityPolicy
from services.alert.metrics import TIME_TO_ACKNOWLEDGE
from services.alert.spans import alert_change, describe_alert
from services.alert.storage.store import AlertStore, AlertTransaction

# Fixed forever: an alert's id is derived from its series, kind and first bucket, so replaying
# the same buckets can never mint a second alert for the same incident.
_ALERT_ID_NAMESPACE = uuid.UUID("8f1d6c2a-4b7e-4e39-a0c5-93e2d7b41f68")


@dataclass(frozen=True)
class ClosedBucket:
    start: datetime
    end: datetime
    tally: BucketTally


class AlertLifecycle:
    def __init__(
        self,
        store: AlertStore,
        severity: SeverityPolicy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._severity = severity
        self._clock = clock

    def on_bucket_closed(
        self,
        tx: AlertTransaction,
        series: SeriesKey,
        bucket: ClosedBucket,
        verdict: KindVerdict,
        now: datetime,
    ) -> Alert | None:
        """Carry out the verdict's decision; returns the alert it opened, if any."""
        alert = tx.alerts.open_alert(series, verdict.kind)
        # The spans link to this bucket's examples: the messages that opened or extended it.
        examples = bucket.tally.examples
        if alert is None:
            if verdict.decision is not Decision.OPEN:
                return None
            opened = self._open(series, bucket, verdict, now)
            with alert_change("open", opened.alert_id, examples) as span:
                describe_alert(span, opened)
                tx.alerts.insert(opened)
                tx.alerts.append_event(opened, now)
            return opened
        if verdict.decision.incident_open:
            # The incident stays open through a few quiet buckets before it resolves; only
            # buckets above what was expected are evidence of it.
            if _observed(bucket.tally, verdict.kind) > verdict.expected:
                extended = self._extend(alert, bucket, verdict, now)
                with alert_change("extend", alert.alert_id, examples) as span:
                    describe_alert(span, extended)
                    tx.alerts.update(extended)
            return None
        # Resolved, or no incident at all (a series whose state had to be relearned): the
        # store follows the monitor.
        resolved = replace(alert, state=AlertState.RESOLVED, resolved_at=now, updated_at=now)
        with alert_change("resolve", alert.alert_id) as span:
            describe_alert(span, resolved)
            tx.alerts.update(resolved)
            tx.alerts.append_event(resolved, now)
        return None

    def acknowledge(self, alert_id: str, operator: str, note: str) -> Alert:
        """Idempotent: acknowledging an acknowledged alert returns it unchanged."""
        with alert_change("acknowledge", alert_id) as span:
            with self._store.transaction() as tx:
                alert = tx.alerts.get(alert_id)
                if alert is None:
                    raise AlertNotFound(alert_id)
                describe_alert(span, alert)
                if alert.state is AlertState.RESOLVED:
                    raise AlertAlreadyResolved(alert_id)
                if alert.state is AlertState.ACKNOWLEDGED:
                    return alert
                now = self._clock()
                acknowledged = replace(
                    alert,
                    state=AlertState.ACKNOWLEDGED,
                    acknowledgement=Acknowledgement(operator=operator, note=note, at=now),
                    updated_at=now,
                )
                tx.alerts.update(acknowledged)
                tx.alerts.append_event(acknowledged, now)
            describe_alert(span, acknowledged)
            # Observed once committed, inside the span: the exemplar names this trace.
            TIME_TO_ACKNOWLEDGE.labels(acknowledged.severity.value).observe(
                (now - alert.opened_at).total_seconds(), exemplar=trace_exemplar()
            )
            return acknowledged

    def _open(
        self, series: SeriesKey, bucket: ClosedBucket, verdict: KindVerdict, now: datetime
    ) -> Alert:
        volume = verdict.kind is AlertKind.VOLUME
        evidence = Evidence(
            negative_count=bucket.tally.negative,
            total_count=bucket.tally.total,
            baseline_negatives=verdict.expected_negatives,
            baseline_messages=verdict.expected if volume else 0.0,
            score=verdict.score,
            window_start=bucket.start,
            window_end=bucket.end,
            examples=tuple(bucket.tally.examples),
        )
        return Alert(
            alert_id=alert_id_for(series, verdict.kind, bucket.start),
            series=series,
            kind=verdict.kind,
            state=AlertState.FIRING,
            severity=self._grade(verdict.kind, evidence, verdict.negatives_surged),
            evidence=evidence,
            opened_at=now,
            updated_at=now,
        )

    def _extend(
        self, alert: Alert, bucket: ClosedBucket, verdict: KindVerdict, now: datetime
    ) -> Alert:
        """The incident goes on: its window, counts and examples grow; severity never drops."""
        before = alert.evidence
        examples = (*before.examples, *bucket.tally.examples)[:MAX_EXAMPLE_MESSAGE_IDS]
        evidence = replace(
            before,
            negative_count=before.negative_count + bucket.tally.negative,
            total_count=before.total_count + bucket.tally.total,
            score=max(before.score, verdict.score),
            window_end=bucket.end,
            examples=examples,
        )
        graded = self._grade(alert.kind, evidence, verdict.negatives_surged)
        critical = Severity.CRITICAL in (alert.severity, graded)
        return replace(
            alert,
            evidence=evidence,
            severity=Severity.CRITICAL if critical else Severity.WARNING,
            updated_at=now,
        )

    def _grade(self, kind: AlertKind, evidence: Evidence, negatives_surged: bool) -> Severity:
        return self._severity.grade(kind, evidence.score, evidence.negative_count, negatives_surged)


def _observed(tally: BucketTally, kind: AlertKind) -> int:
    """The count a kind's detector judges: negatives for the share, messages for the volume."""
    return tally.total if kind is AlertKind.VOLUME else tally.negative


def alert_id_for(series: SeriesKey, kind: AlertKind, first_bucket: datetime) -> str:
    # JSON keeps ("a:b", "c") and ("a", "b:c") apart, whatever the names contain.
    key = json.dumps([series.topic, series.channel, kind.value, first_bucket.isoformat()])
    return str(uuid.uuid5(_ALERT_ID_NAMESPACE, key))
