from collections.abc import Iterable
from concurrent.futures import Future

import pytest
from carepulse.v1 import events_pb2
from pydantic import ValidationError

from servicekit.kafka.headers import RecordHeaders, headers_as_dict
from servicekit.kafka.topics import ALERTS_WEBHOOK_DLQ, carepulse_topics
from services.alert.notification.dead_letters import KafkaNotificationDeadLetters
from services.alert.settings import AlertSettings
from tests.unit.alert.conftest import make_alert


def test_webhook_urls_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_WEBHOOK_URLS", "https://a.example/hook, http://b.example:8080/x")
    monkeypatch.setenv("ALERT_WEBHOOK_SECRET", "s3cret-value")

    settings = AlertSettings()

    assert settings.webhook_urls == ["https://a.example/hook", "http://b.example:8080/x"]
    assert "s3cret-value" not in repr(settings) + str(settings.model_dump())


def test_webhook_urls_without_a_secret_stop_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_WEBHOOK_URLS", "https://a.example/hook")
    monkeypatch.delenv("ALERT_WEBHOOK_SECRET", raising=False)

    with pytest.raises(ValidationError, match="ALERT_WEBHOOK_SECRET is required"):
        AlertSettings()


def test_a_webhook_url_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_WEBHOOK_URLS", "ftp://a.example/hook")
    monkeypatch.setenv("ALERT_WEBHOOK_SECRET", "s")

    with pytest.raises(ValidationError, match="http"):
        AlertSettings()


class RecordingProducer:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None, RecordHeaders]] = []

    def publish_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: RecordHeaders
    ) -> "Future[None]":
        self.records.append((topic, key, value, headers))
        future: Future[None] = Future()
        future.set_result(None)
        return future

    def wait_delivered(self, futures: Iterable["Future[None]"]) -> None:
        for future in futures:
            future.result()


def test_dead_lettered_notification_is_the_event_with_why_and_where() -> None:
    producer = RecordingProducer()
    alert = make_alert("a-1")

    KafkaNotificationDeadLetters(producer).dead_letter(
        "webhook:hooks.example:443/abc", 7, alert, "HTTP 503", 5
    )

    ((topic, key, value, headers),) = producer.records
    assert (topic, key) == (ALERTS_WEBHOOK_DLQ, b"card_declined")
    assert value is not None
    event = events_pb2.AlertEvent.FromString(value)
    assert (event.sequence, event.alert.alert_id) == (7, "a-1")
    assert event.alert.kind == events_pb2.ALERT_KIND_NEGATIVE_SHARE
    named = headers_as_dict(headers)
    assert named["dlq-error"] == "HTTP 503"
    assert named["dlq-destination"] == "webhook:hooks.example:443/abc"
    assert named["dlq-attempts"] == "5"
    assert named["message-id"] == "alert-event-7"
    assert ALERTS_WEBHOOK_DLQ in {spec.name for spec in carepulse_topics()}


def test_streams_may_not_take_every_grpc_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_GRPC_MAX_WORKERS", "8")
    monkeypatch.setenv("ALERT_MAX_STREAMS", "8")

    with pytest.raises(ValidationError, match="ALERT_MAX_STREAMS must be below"):
        AlertSettings()
