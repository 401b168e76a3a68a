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
from carepulse.v1 import events_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.alert.events import severity_name, to_alert_message
from services.alert.http_delivery import post_notification
from services.alert.notifier import DeliveryOutcome, DeliveryResult
from services.alert.store import AlertStore

log = logging.getLogger(__name__)

ALERT_NAME = "NegativeSentimentSpike"
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

    def deliver(self, sequence: int, alert: events_pb2.Alert) -> DeliveryResult:
        return self.post([alert])

    def post(self, alerts: list[events_pb2.Alert]) -> DeliveryResult:
        now = self._clock()
        payload = [
            alertmanager_alert(alert, alerts_url=self._alerts_url, active_until=now + self._hold)
            for alert in alerts
        ]
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        return post_notification(self._client, self._endpoint, body, headers)


def alertmanager_alert(
    alert: events_pb2.Alert, *, alerts_url: str, active_until: datetime
) -> dict[str, Any]:
    """One postableAlert; labels identify it, so they hold only what names the incident."""
    evidence = alert.evidence
    resolved = alert.state == events_pb2.ALERT_STATE_RESOLVED
    ends_at = _moment(alert.resolved_at) if resolved else active_until
    description = (
        f"{evidence.negative_count} negative of {evidence.total_count} messages on "
        f"{alert.topic} ({alert.channel}) since {_moment(evidence.window_start).isoformat()}; "
        f"about {evidence.baseline_negative_rate:.1f} expected per bucket "
        f"(score {evidence.score:.2f})."
    )
    annotations = {
        "summary": f"Negative sentiment spike on {alert.topic} ({alert.channel})",
        "description": description,
        "alert_id": alert.alert_id,
    }
    if evidence.example_traces:
        # Annotations are strings: the trace ids, space-separated, to paste into a trace UI.
        trace_ids = (trace.trace_id for trace in evidence.example_traces)
        annotations["example_trace_ids"] = " ".join(trace_ids)
    if alert.HasField("acknowledgement"):
        annotations["acknowledged_by"] = alert.acknowledgement.operator
    return {
        "labels": {
            "alertname": ALERT_NAME,
            "topic": alert.topic,
            "channel": alert.channel,
            "severity": severity_name(alert.severity),
        },
        "annotations": annotations,
        "startsAt": _moment(alert.opened_at).isoformat(),
        "endsAt": ends_at.isoformat(),
        "generatorURL": f"{alerts_url}?topic={quote(alert.topic)}",
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
        alerts = [to_alert_message(alert) for alert in self._store.open_alerts()]
        if not alerts:
            return
        result = self._alertmanager.post(alerts)
        if result.outcome is not DeliveryOutcome.DELIVERED:
            # The next interval tries again; the hold covers a few missed ones.
            log.warning("re-posting open alerts failed", extra={"error": result.detail})


def _moment(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)
