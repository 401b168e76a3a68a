"""The alert lifecycle: firing → acknowledged → resolved, one alert per incident.

Every change of state is written to the outbox in the transaction that makes it, so the
`alerts` topic and alert streams see exactly the changes the database holds. Evidence
updates while an incident goes on are not lifecycle changes: they update the alert only.
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
    AlertState,
    Evidence,
    SeriesKey,
    Severity,
)
from services.alert.buckets import BucketTally
from services.alert.errors import AlertAlreadyResolved, AlertNotFound
from services.alert.metrics import TIME_TO_ACKNOWLEDGE
from services.alert.severity import SeverityPolicy
from services.alert.spans import alert_change, describe_alert
from services.alert.spike import SpikeVerdict
from services.alert.store import AlertStore, AlertTransaction

# Fixed forever: an alert's id is derived from its series and first bucket, so replaying
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
        verdict: SpikeVerdict,
        now: datetime,
    ) -> Alert | None:
        """Apply one verdict; returns the alert it opened, if any."""
        alert = tx.open_alert(series)
        # The spans link to this bucket's examples: the messages that opened or extended it.
        examples = bucket.tally.examples
        if alert is None and verdict.spiking:
            opened = self._open(series, bucket, verdict, now)
            with alert_change("open", opened.alert_id, examples) as span:
                describe_alert(span, opened)
                tx.insert_alert(opened)
                tx.append_event(opened, now)
            return opened
        if alert is not None and verdict.spiking:
            # The episode stays open through a few quiet buckets before it resolves; only
            # buckets above the baseline are evidence of the incident.
            if bucket.tally.negative > verdict.baseline_negatives:
                extended = self._extend(alert, bucket, verdict, now)
                with alert_change("extend", alert.alert_id, examples) as span:
                    describe_alert(span, extended)
                    tx.update_alert(extended)
        elif alert is not None:
            resolved = replace(alert, state=AlertState.RESOLVED, resolved_at=now, updated_at=now)
            with alert_change("resolve", alert.alert_id) as span:
                describe_alert(span, resolved)
                tx.update_alert(resolved)
                tx.append_event(resolved, now)
        return None

    def acknowledge(self, alert_id: str, operator: str, note: str) -> Alert:
        """Idempotent: acknowledging an acknowledged alert returns it unchanged."""
        with alert_change("acknowledge", alert_id) as span:
            with self._store.transaction() as tx:
                alert = tx.get_alert(alert_id)
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
                tx.update_alert(acknowledged)
                tx.append_event(acknowledged, now)
            describe_alert(span, acknowledged)
            # Observed once committed, inside the span: the exemplar names this trace.
            TIME_TO_ACKNOWLEDGE.labels(acknowledged.severity.value).observe(
                (now - alert.opened_at).total_seconds(), exemplar=trace_exemplar()
            )
            return acknowledged

    def _open(
        self, series: SeriesKey, bucket: ClosedBucket, verdict: SpikeVerdict, now: datetime
    ) -> Alert:
        evidence = Evidence(
            negative_count=bucket.tally.negative,
            total_count=bucket.tally.total,
            baseline_negatives=verdict.baseline_negatives,
            score=verdict.score,
            window_start=bucket.start,
            window_end=bucket.end,
            examples=tuple(bucket.tally.examples),
        )
        return Alert(
            alert_id=alert_id_for(series, bucket.start),
            series=series,
            state=AlertState.FIRING,
            severity=self._severity.grade(evidence.score, evidence.negative_count),
            evidence=evidence,
            opened_at=now,
            updated_at=now,
        )

    def _extend(
        self, alert: Alert, bucket: ClosedBucket, verdict: SpikeVerdict, now: datetime
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
        graded = self._severity.grade(evidence.score, evidence.negative_count)
        critical = Severity.CRITICAL in (alert.severity, graded)
        return replace(
            alert,
            evidence=evidence,
            severity=Severity.CRITICAL if critical else Severity.WARNING,
            updated_at=now,
        )


def alert_id_for(series: SeriesKey, first_bucket: datetime) -> str:
    # JSON keeps ("a:b", "c") and ("a", "b:c") apart, whatever the names contain.
    key = json.dumps([series.topic, series.channel, first_bucket.isoformat()])
    return str(uuid.uuid5(_ALERT_ID_NAMESPACE, key))
