"""kill -9 of the alert service in the middle of an incident: the incident stays one alert."""

import time
from typing import Any

import httpx
import pytest
from carepulse.v1 import events_pb2
from prometheus_client.parser import text_string_to_metric_families

from local.stack import Stack
from servicekit.kafka.topics import ALERTS
from tests.integration.test_alerts import COMPLAINT
from tests.integration.topic_reader import Record, read_until

pytestmark = pytest.mark.integration

# Another intent than test_alerts' complaint, so the two tests watch different series.
TRANSFER_COMPLAINT = (
    "I was charged a huge fee for my bank transfer and nobody told me, this is outrageous"
)
BURST = 40


def _chat(client_api: httpx.Client, unique: str, text: str) -> Any:
    reply = client_api.post(
        "/v1/chat",
        json={"conversation_id": f"c-{unique}", "customer_id": f"u-{unique}", "text": text},
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def _send_burst(client_api: httpx.Client, tag: str) -> None:
    burst = [
        {
            "conversation_id": f"c-{tag}-{i}",
            "customer_id": f"u-{tag}-{i}",
            "text": TRANSFER_COMPLAINT,
        }
        for i in range(BURST)
    ]
    assert client_api.post("/v1/messages", json={"messages": burst}).status_code == 202


def _alerts(operator_api: httpx.Client, topic: str) -> list[Any]:
    reply = operator_api.get("/v1/alerts", params={"topic": topic})
    assert reply.status_code == 200, reply.text
    alerts: list[Any] = reply.json()["alerts"]
    return alerts


def _wait_for(operator_api: httpx.Client, topic: str, holds: Any, what: str) -> list[Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        alerts = _alerts(operator_api, topic)
        if holds(alerts):
            return alerts
        time.sleep(1)
    raise AssertionError(f"{what}: not seen in 120 s; alerts for {topic}: {alerts}")


def _alerts_open(stack: Stack) -> float:
    """carepulse_alerts_open as the alert service's /metrics says now."""
    reply = httpx.get(f"http://127.0.0.1:{stack.ports.metrics('alert')}/metrics", timeout=10)
    assert reply.status_code == 200, reply.text
    for family in text_string_to_metric_families(reply.text):
        if family.name == "carepulse_alerts_open":
            return float(family.samples[0].value)
    raise AssertionError("carepulse_alerts_open not exported")


def _firing_events(records: list[Record], alert_id: str) -> list[int]:
    """Sequences of the `firing` events of one alert among `alerts` records."""
    sequences = []
    for record in records:
        event = events_pb2.AlertEvent.FromString(record.value)
        if event.alert.alert_id == alert_id and event.alert.state == events_pb2.ALERT_STATE_FIRING:
            sequences.append(event.sequence)
    return sequences


def test_alert_service_killed_mid_incident_keeps_one_alert_and_one_firing_event(
    client_api: httpx.Client, operator_api: httpx.Client, stack: Stack, unique: str
) -> None:
    probe = _chat(client_api, unique, TRANSFER_COMPLAINT)
    assert probe["sentiment"] == "negative"
    topic = probe["intent"]
    assert topic != _chat(client_api, f"{unique}-other", COMPLAINT)["intent"]
    bootstrap = stack.broker.bootstrap_servers

    _send_burst(client_api, f"{unique}-a")
    (alert,) = _wait_for(operator_api, topic, lambda alerts: alerts, "an alert")
    assert alert["state"] == "firing"
    alert_id = alert["alert_id"]
    read_until(bootstrap, ALERTS, lambda records: bool(_firing_events(records, alert_id)))
    time.sleep(1)  # the relay marks the row published right after the broker's ack

    stack.kill("alert")
    _send_burst(client_api, f"{unique}-b")  # counted once the restarted service catches up
    stack.restart("alert")
    # Restored from the database at start: no bucket closes yet (the startup hold).
    assert _alerts_open(stack) >= 1
    _send_burst(client_api, f"{unique}-c")

    # All three bursts belong to the one incident: its evidence grows, no alert is added.
    alerts = _wait_for(
        operator_api,
        topic,
        lambda alerts: alerts and alerts[0]["evidence"]["negative_count"] >= 3 * BURST,
        f"{3 * BURST} negatives counted into the alert",
    )
    assert [(a["alert_id"], a["state"]) for a in alerts] == [(alert_id, "firing")]
    settle_at = time.monotonic() + 5  # read the whole topic, whatever the restart published
    records = read_until(bootstrap, ALERTS, lambda _records: time.monotonic() > settle_at)
    assert len(_firing_events(records, alert_id)) == 1
