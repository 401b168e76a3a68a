"""Webhook notifications: each lifecycle event POSTed as signed JSON.

The body has the shape of the gateway's SSE events (`{"sequence", "event", "alert"}`);
headers carry the signature (see webhook_signature.py) and `Idempotency-Key: <sequence>`.
"""

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

import httpx
from carepulse.v1 import events_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.alert.events import severity_name, state_name
from services.alert.http_delivery import post_notification
from services.alert.notifier import DeliveryResult
from services.alert.webhook_signature import (
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

    def deliver(self, sequence: int, alert: events_pb2.Alert) -> DeliveryResult:
        body = json.dumps(webhook_body(sequence, alert), separators=(",", ":")).encode()
        timestamp = str(int(self._clock_s()))  # signed per attempt: a retry is a fresh request
        idempotency_key = str(sequence)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, timestamp, idempotency_key, body),
            TIMESTAMP_HEADER: timestamp,
            IDEMPOTENCY_HEADER: idempotency_key,
            EVENT_HEADER: state_name(alert.state),
        }
        return post_notification(self._client, self._url, body, headers)


def webhook_destination_name(url: str) -> str:
    """`webhook:<host:port>/<hash>`: readable, stable, and free of any token in path or query."""
    parts = urlsplit(url)
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return f"webhook:{parts.hostname}:{parts.port or ''}/{digest}"


def webhook_body(sequence: int, alert: events_pb2.Alert) -> dict[str, Any]:
    evidence = alert.evidence
    acknowledgement = None
    if alert.HasField("acknowledgement"):
        ack = alert.acknowledgement
        acknowledgement = {"operator": ack.operator, "note": ack.note, "at": _iso(ack.at)}
    return {
        "sequence": sequence,
        "event": state_name(alert.state),
        "alert": {
            "alert_id": alert.alert_id,
            "topic": alert.topic,
            "channel": alert.channel,
            "state": state_name(alert.state),
            "severity": severity_name(alert.severity),
            "evidence": {
                "negative_count": evidence.negative_count,
                "total_count": evidence.total_count,
                "baseline_negative_rate": evidence.baseline_negative_rate,
                "score": evidence.score,
                "window_start": _iso(evidence.window_start),
                "window_end": _iso(evidence.window_end),
                "example_message_ids": list(evidence.example_message_ids),
                "example_traces": [
                    {
                        "message_id": trace.message_id,
                        "trace_id": trace.trace_id,
                        "span_id": trace.span_id,
                    }
                    for trace in evidence.example_traces
                ],
            },
            "opened_at": _iso(alert.opened_at),
            "updated_at": _iso(alert.updated_at),
            "resolved_at": _iso(alert.resolved_at) if alert.HasField("resolved_at") else None,
            "acknowledgement": acknowledgement,
        },
    }


def _iso(stamp: Timestamp) -> str:
    return stamp.ToDatetime(tzinfo=UTC).isoformat()
