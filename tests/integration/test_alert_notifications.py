"""Alert notifications against real receivers: an HTTP server for webhooks, a real Alertmanager.

The alert pipeline runs in-process on SQLite with a fake clock (tests/unit/alert/conftest.py),
so an incident fires, is acknowledged and resolves in milliseconds; the HTTP is real.
"""

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from services.alert.alerts import Alert, AlertKind
from services.alert.notification.alertmanager import (
    ALERT_NAMES,
    AlertmanagerDestination,
    OpenAlertRepeater,
)
from services.alert.notification.notifier import NotificationDispatcher, RetryPolicy
from services.alert.notification.webhook import WebhookDestination
from services.alert.notification.webhook_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from services.alert.storage.deliveries import DeliveryQueue, DeliveryState
from tests.integration.alertmanager_server import active_alerts, running_alertmanager
from tests.integration.webhook_receiver import WebhookReceiver, running_receiver
from tests.unit.alert.conftest import CARD, START, FakeClock, Pipeline

pytestmark = pytest.mark.integration

SECRET = b"test-webhook-secret"
POLICY = RetryPolicy(max_attempts=3, initial_backoff=timedelta(seconds=1))


class RecordedDeadLetters:
    def __init__(self) -> None:
        self.records: list[tuple[str, int, str, str, int]] = []

    def dead_letter(
        self, destination: str, sequence: int, alert: Alert, reason: str, attempts: int
    ) -> None:
        self.records.append((destination, sequence, alert.alert_id, reason, attempts))


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def _pipeline(tmp_path: Path, clock: FakeClock, destination: str) -> Pipeline:
    return Pipeline(tmp_path / "alert.db", clock, notification_destinations=[destination])


def _open_ack_and_resolve(pipeline: Pipeline) -> str:
    pipeline.baseline()
    (alert,) = pipeline.bucket(negatives=30, total=35).alerts_opened
    pipeline.lifecycle.acknowledge(alert.alert_id, "ana", "looking")
    for _ in range(12):
        pipeline.bucket(negatives=1, total=20)
    return alert.alert_id


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _failed_webhook_attempts() -> float:
    return _metric("carepulse_alert_notification_attempts_total", kind="webhook", outcome="failed")


def test_webhook_gets_each_lifecycle_event_in_order_with_a_valid_signature(
    tmp_path: Path, receiver: WebhookReceiver, http: httpx.Client
) -> None:
    clock = FakeClock(START)
    webhook = WebhookDestination(receiver.url, SECRET, http)
    pipeline = _pipeline(tmp_path, clock, webhook.name)
    alert_id = _open_ack_and_resolve(pipeline)
    dispatcher = NotificationDispatcher(
        DeliveryQueue(pipeline.engine), webhook, POLICY, RecordedDeadLetters(), clock=clock
    )

    assert dispatcher.deliver_due() == 3

    bodies = [json.loads(request.body) for request in receiver.requests]
    assert [body["event"] for body in bodies] == ["firing", "acknowledged", "resolved"]
    assert {body["alert"]["alert_id"] for body in bodies} == {alert_id}
    assert bodies[1]["alert"]["acknowledgement"]["operator"] == "ana"
    sequences = [body["sequence"] for body in bodies]
    assert sequences == sorted(sequences)
    for request, sequence in zip(receiver.requests, sequences, strict=True):
        headers = request.headers
        assert headers["idempotency-key"] == str(sequence)
        timestamp, signature = headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()]
        key, body, now = str(sequence), request.body, time.time()
        assert signature.startswith("sha256=")
        assert verify(SECRET, timestamp, key, body, signature, now_s=now)
        assert not verify(b"another-secret", timestamp, key, body, signature, now_s=now)
        assert not verify(SECRET, timestamp, key, body + b" ", signature, now_s=now)
        # Replayed under a fresh idempotency key, or an hour later: refused.
        assert not verify(SECRET, timestamp, key + "0", body, signature, now_s=now)
        assert not verify(SECRET, timestamp, key, body, signature, now_s=now + 3600)
    assert dispatcher.deliver_due() == 0, "delivered events are not sent again"


def test_webhook_retries_a_5xx_with_backoff_then_delivers_in_order(
    tmp_path: Path, receiver: WebhookReceiver, http: httpx.Client
) -> None:
    clock = FakeClock(START)
    webhook = WebhookDestination(receiver.url, SECRET, http)
    pipeline = _pipeline(tmp_path, clock, webhook.name)
    _open_ack_and_resolve(pipeline)
    queue = DeliveryQueue(pipeline.engine)
    dispatcher = NotificationDispatcher(queue, webhook, POLICY, RecordedDeadLetters(), clock=clock)
    failed_before = _failed_webhook_attempts()
    receiver.statuses = [500, 429]

    assert dispatcher.deliver_due() == 0  # 500: the first event waits 1 s, the rest behind it
    assert dispatcher.deliver_due() == 0  # not due yet: nothing is sent
    assert len(receiver.requests) == 1
    clock.now += timedelta(seconds=1)
    assert dispatcher.deliver_due() == 0  # 429: waits 2 s more
    clock.now += timedelta(seconds=2)
    assert dispatcher.deliver_due() == 3

    keys = [request.headers["idempotency-key"] for request in receiver.requests]
    assert keys[:3] == [keys[0]] * 3, "the same event, retried with its idempotency key"
    events = [json.loads(request.body)["event"] for request in receiver.requests]
    assert events == ["firing", "firing", "firing", "acknowledged", "resolved"]
    assert queue.count(webhook.name, DeliveryState.DELIVERED) == 3
    assert _failed_webhook_attempts() - failed_before == 2


def test_webhook_event_is_dead_lettered_after_max_attempts_and_the_next_one_goes_on(
    tmp_path: Path, receiver: WebhookReceiver, http: httpx.Client
) -> None:
    clock = FakeClock(START)
    webhook = WebhookDestination(receiver.url, SECRET, http)
    pipeline = _pipeline(tmp_path, clock, webhook.name)
    alert_id = _open_ack_and_resolve(pipeline)
    queue = DeliveryQueue(pipeline.engine)
    dead_letters = RecordedDeadLetters()
    dispatcher = NotificationDispatcher(queue, webhook, POLICY, dead_letters, clock=clock)
    dead_before = _metric("carepulse_alert_notifications_dead_lettered_total", kind="webhook")
    receiver.statuses = [503, 503, 503]

    for _ in range(POLICY.max_attempts):
        dispatcher.deliver_due()
        clock.now += timedelta(minutes=1)

    assert len(receiver.requests) == POLICY.max_attempts + 2  # 3 tries, then the other two
    ((destination, sequence, dead_alert_id, reason, attempts),) = dead_letters.records
    assert (destination, dead_alert_id, reason, attempts) == (
        webhook.name,
        alert_id,
        "HTTP 503",
        POLICY.max_attempts,
    )
    assert str(sequence) == receiver.requests[0].headers["idempotency-key"]
    assert queue.count(webhook.name, DeliveryState.DEAD_LETTERED) == 1
    assert queue.count(webhook.name, DeliveryState.DELIVERED) == 2
    dead = _metric("carepulse_alert_notifications_dead_lettered_total", kind="webhook")
    assert dead - dead_before == 1


def test_webhook_4xx_is_dead_lettered_without_retrying(
    tmp_path: Path, receiver: WebhookReceiver, http: httpx.Client
) -> None:
    clock = FakeClock(START)
    webhook = WebhookDestination(receiver.url, SECRET, http)
    pipeline = _pipeline(tmp_path, clock, webhook.name)
    _open_ack_and_resolve(pipeline)
    dead_letters = RecordedDeadLetters()
    dispatcher = NotificationDispatcher(
        DeliveryQueue(pipeline.engine), webhook, POLICY, dead_letters, clock=clock
    )
    receiver.statuses = [410]

    assert dispatcher.deliver_due() == 3
    assert [(reason, attempts) for *_, reason, attempts in dead_letters.records] == [
        ("HTTP 410", 1)
    ]


def test_pending_deliveries_survive_a_restart(
    tmp_path: Path, receiver: WebhookReceiver, http: httpx.Client
) -> None:
    clock = FakeClock(START)
    webhook = WebhookDestination(receiver.url, SECRET, http)
    pipeline = _pipeline(tmp_path, clock, webhook.name)
    _open_ack_and_resolve(pipeline)
    first = NotificationDispatcher(
        DeliveryQueue(pipeline.engine), webhook, POLICY, RecordedDeadLetters(), clock=clock
    )
    receiver.statuses = [503]
    assert first.deliver_due() == 0

    restarted = pipeline.restarted()  # kill -9: a new process on the same database
    clock.now += timedelta(seconds=1)
    queue = DeliveryQueue(restarted.engine)
    second = NotificationDispatcher(
        queue,
        WebhookDestination(receiver.url, SECRET, http),
        POLICY,
        RecordedDeadLetters(),
        clock=clock,
    )

    assert second.deliver_due() == 3
    events = [json.loads(request.body)["event"] for request in receiver.requests]
    assert events == ["firing", "firing", "acknowledged", "resolved"]
    assert queue.count(webhook.name, DeliveryState.PENDING) == 0
    restarted.close()


def test_real_alertmanager_shows_a_firing_alert_and_drops_it_once_resolved(
    tmp_path: Path, http: httpx.Client
) -> None:
    # Start 45 minutes back, so the incident opens ~15 min ago and resolves ~2 min ago on
    # the real clock that Alertmanager compares startsAt/endsAt with.
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=45))
    with running_alertmanager(tmp_path / "alertmanager") as url:
        alertmanager = AlertmanagerDestination(
            url,
            http,
            alerts_url="http://127.0.0.1:8080/v1/alerts",
            repeat_interval=timedelta(seconds=60),
        )
        pipeline = _pipeline(tmp_path, clock, alertmanager.name)
        dispatcher = NotificationDispatcher(
            DeliveryQueue(pipeline.engine), alertmanager, POLICY, RecordedDeadLetters()
        )
        pipeline.baseline()
        (alert,) = pipeline.bucket(negatives=30, total=35).alerts_opened

        assert dispatcher.deliver_due() == 1
        (shown,) = active_alerts(url)
        assert shown["labels"] == {
            "alertname": ALERT_NAMES[AlertKind.NEGATIVE_SHARE],
            "topic": CARD.topic,
            "channel": CARD.channel,
            "severity": alert.severity.value,
        }
        assert (
            ALERT_NAMES[AlertKind.NEGATIVE_SHARE] == "NegativeSentimentSpike"
        )  # routes rely on it
        assert shown["status"]["state"] == "active"
        assert shown["annotations"]["alert_id"] == alert.alert_id
        assert "Negative sentiment spike" in shown["annotations"]["summary"]
        assert shown["generatorURL"].endswith(f"?topic={CARD.topic}")

        # The repeater re-asserts open alerts (an acknowledged alert is still open).
        pipeline.lifecycle.acknowledge(alert.alert_id, "ana", "")
        OpenAlertRepeater(pipeline.store, alertmanager, timedelta(seconds=60)).repost_if_due()
        assert len(active_alerts(url)) == 1

        for _ in range(12):
            pipeline.bucket(negatives=1, total=20)
        assert dispatcher.deliver_due() == 2  # acknowledged, resolved
        assert active_alerts(url) == []
        pipeline.close()
