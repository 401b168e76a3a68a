"""Prometheus Alertmanager notifications through its v2 API (`POST /api/v2/alerts`).

Alertmanager treats an alert as active until its `endsAt`, and expects the sender to repeat
active alerts (as Prometheus does): every lifecycle event is posted when it happens, and
`OpenAlertRepeater` re-posts the open ones every interval with `endsAt` a few intervals
ahead. If CarePulse stops, its alerts resolve in Alertmanager once that time has passed.
"""

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from services.alert.alerts import Alert, AlertKind, AlertState
from services.alert.notification.http_delivery import post_notification
from services.alert.notification.notifier import DeliveryOutcome, DeliveryResult
from services.alert.storage.store import AlertStore

log = logging.getLogger(__name__)

# The alertname of each kind: what Alertmanager routes on.
ALERT_NAMES = {
    AlertKind.NEGATIVE_SHARE: "NegativeSentimentSpike",
    AlertKind.VOLUME: "MessageVolumeSurge",
}
# As Prometheus: an alert not re-posted within this many intervals ends by itself.
_HOLD_INTERVALS = 4


class AlertmanagerDestination:
    kind = "alertmanager"
    name = "alertmanager"

    def __init__(
        self,
        base_url: str,
        client: httpx.Client,
        *,
        alerts_url: str,
        repeat_interval: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._endpoint = base_url.rstrip("/") + "/api/v2/alerts"
        self._client = client
        self._alerts_url = alerts_url
        self._hold = repeat_interval * _HOLD_INTERVALS
        self._clock = clock

    def deliver(self, sequence: int, alert: Alert) -> DeliveryResult:
        return self.post([alert])

    def post(self, alerts: list[Alert]) -> DeliveryResult:
        now = self._clock()
        payload = [
            alertmanager_alert(alert, alerts_url=self._alerts_url, active_until=now + self._hold)
            for alert in alerts
        ]
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        return post_notification(self._client, self._endpoint, body, headers)


def alertmanager_alert(alert: Alert, *, alerts_url: str, active_until: datetime) -> dict[str, Any]:
    """One postableAlert; labels identify it, so they hold only what names the incident."""
    evidence = alert.evidence
    topic, channel = alert.series.topic, alert.series.channel
    ends_at = alert.resolved_at if alert.state is AlertState.RESOLVED else active_until
    since = evidence.window_start.isoformat()
    if alert.kind is AlertKind.VOLUME:
        summary = f"Message volume surge on {topic} ({channel})"
        description = (
            f"{evidence.total_count} messages ({evidence.negative_count} negative) on {topic} "
            f"({channel}) since {since}; about {evidence.baseline_messages:.1f} expected per "
            f"bucket (score {evidence.score:.2f})."
        )
    else:
        summary = f"Negative sentiment spike on {topic} ({channel})"
        description = (
            f"{evidence.negative_count} negative of {evidence.total_count} messages on "
            f"{topic} ({channel}) since {since}; about {evidence.baseline_negatives:.1f} "
            f"expected per bucket (score {evidence.score:.2f})."
        )
    annotations = {"summary": summary, "description": description, "alert_id": alert.alert_id}
    trace_ids = [e.producer_span.trace_id for e in evidence.examples if e.producer_span]
    if trace_ids:
        # Annotations are strings: the trace ids, space-separated, to paste into a trace UI.
        annotations["example_trace_ids"] = " ".join(trace_ids)
    if alert.acknowledgement is not None:
        annotations["acknowledged_by"] = alert.acknowledgement.operator
    return {
        "labels": {
            "alertname": ALERT_NAMES[alert.kind],
            "topic": topic,
            "channel": channel,
            "severity": alert.severity.value,
        },
        "annotations": annotations,
        "startsAt": alert.opened_at.isoformat(),
        "endsAt": (ends_at or active_until).isoformat(),
        "generatorURL": f"{alerts_url}?topic={quote(topic)}",
    }


class OpenAlertRepeater:
    """Re-posts every open alert once per interval, so Alertmanager keeps them active."""

    def __init__(
        self,
        store: AlertStore,
        alertmanager: AlertmanagerDestination,
        interval: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._alertmanager = alertmanager
        self._interval = interval
        self._clock = clock
        self._next_at: datetime | None = None  # None: at once (a restart re-asserts them)

    def repost_if_due(self) -> None:
        now = self._clock()
        if self._next_at is not None and now < self._next_at:
            return
        self._next_at = now + self._interval
        alerts = self._store.open_alerts()
        if not alerts:
            return
        result = self._alertmanager.post(alerts)
        if result.outcome is not DeliveryOutcome.DELIVERED:
            # The next interval tries again; the hold covers a few missed ones.
            log.warning("re-posting open alerts failed", extra={"error": result.detail})
