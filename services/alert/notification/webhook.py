"""Webhook notifications: each lifecycle event POSTed as signed JSON.

The body has the shape of the gateway's SSE events (`{"sequence", "event", "alert"}`);
headers carry the signature (see webhook_signature.py) and `Idempotency-Key: <sequence>`.
"""

import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from services.alert.alerts import Alert
from services.alert.notification.http_delivery import post_notification
from services.alert.notification.notifier import DeliveryResult
from services.alert.notification.webhook_signature import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)

EVENT_HEADER = "X-CarePulse-Event"


class WebhookDestination:
    kind = "webhook"

    def __init__(
        self,
        url: str,
        secret: bytes,
        client: httpx.Client,
        *,
        clock_s: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self._secret = secret
        self._client = client
        self._clock_s = clock_s
        self._name = webhook_destination_name(url)

    @property
    def name(self) -> str:
        return self._name

    def deliver(self, sequence: int, alert: Alert) -> DeliveryResult:
        body = json.dumps(webhook_body(sequence, alert), separators=(",", ":")).encode()
        timestamp = str(int(self._clock_s()))  # signed per attempt: a retry is a fresh request
        idempotency_key = str(sequence)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, timestamp, idempotency_key, body),
            TIMESTAMP_HEADER: timestamp,
            IDEMPOTENCY_HEADER: idempotency_key,
            EVENT_HEADER: alert.state.value,
        }
        return post_notification(self._client, self._url, body, headers)


def webhook_destination_name(url: str) -> str:
    """`webhook:<host:port>/<hash>`: readable, stable, and free of any token in path or query."""
    parts = urlsplit(url)
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return f"webhook:{parts.hostname}:{parts.port or ''}/{digest}"


def webhook_body(sequence: int, alert: Alert) -> dict[str, Any]:
    """The gateway's SSE event shape (gateway/models/alerts.py), field for field."""
    evidence, ack = alert.evidence, alert.acknowledgement
    return {
        "sequence": sequence,
        "event": alert.state.value,
        "alert": {
            "alert_id": alert.alert_id,
            "topic": alert.series.topic,
            "channel": alert.series.channel,
            "kind": alert.kind.value,
            "state": alert.state.value,
            "severity": alert.severity.value,
            "evidence": {
                "negative_count": evidence.negative_count,
                "total_count": evidence.total_count,
                "baseline_negative_rate": evidence.baseline_negatives,
                "baseline_message_rate": evidence.baseline_messages,
                "score": evidence.score,
                "window_start": evidence.window_start.isoformat(),
                "window_end": evidence.window_end.isoformat(),
                "example_message_ids": list(evidence.example_message_ids),
                "example_traces": [
                    {
                        "message_id": example.message_id,
                        "trace_id": example.producer_span.trace_id,
                        "span_id": example.producer_span.span_id,
                    }
                    for example in evidence.examples
                    if example.producer_span is not None
                ],
            },
            "opened_at": alert.opened_at.isoformat(),
            "updated_at": alert.updated_at.isoformat(),
            "resolved_at": _iso(alert.resolved_at),
            "acknowledgement": (
                None
                if ack is None
                else {"operator": ack.operator, "note": ack.note, "at": ack.at.isoformat()}
            ),
        },
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
