import json
import time
from typing import Any

import httpx
import pytest

from local.stack import Stack

pytestmark = pytest.mark.integration

COMPLAINT = "My card payment was declined again and nobody helps me, this is unacceptable"


def _wait_for_alert(operator_api: httpx.Client, topic: str, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reply = operator_api.get("/v1/alerts", params={"topic": topic})
        assert reply.status_code == 200, reply.text
        if reply.json()["alerts"]:
            return reply.json()["alerts"][0]
        time.sleep(1)
    raise AssertionError(f"no alert for {topic} after {timeout_s}s")


def _first_stream_event(stack: Stack, operator_key: str, topic: str) -> dict[str, Any]:
    headers = {"X-API-Key": operator_key, "Last-Event-ID": "0"}
    with (
        httpx.Client(base_url=stack.gateway_url, timeout=30) as client,
        client.stream("GET", "/v1/alerts/stream", headers=headers) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        event: dict[str, str] = {}
        for line in stream.iter_lines():
            if line.startswith(("id:", "data:", "event:")):
                name, _, value = line.partition(":")
                event[name] = value.strip()
            elif not line and "data" in event:
                data: dict[str, Any] = json.loads(event["data"])
                if data["alert"]["topic"] == topic:
                    return {"id": event.get("id"), **data}
                event = {}
    raise AssertionError("stream ended without the alert")


def test_negative_burst_on_one_topic_raises_one_alert_in_list_and_stream(
    client_api: httpx.Client,
    operator_api: httpx.Client,
    stack: Stack,
    keys: dict[str, str],
    unique: str,
) -> None:
    probe = client_api.post(
        "/v1/chat",
        json={"conversation_id": f"c-{unique}", "customer_id": f"u-{unique}", "text": COMPLAINT},
    )
    assert probe.status_code == 200, probe.text
    assert probe.json()["sentiment"] == "negative"
    topic = probe.json()["intent"]

    burst = [
        {"conversation_id": f"c-{unique}-{i}", "customer_id": f"u-{unique}-{i}", "text": COMPLAINT}
        for i in range(40)
    ]
    assert client_api.post("/v1/messages", json={"messages": burst}).status_code == 202

    alert = _wait_for_alert(operator_api, topic)
    assert alert["state"] == "firing"
    assert alert["evidence"]["negative_count"] >= 10
    assert alert["evidence"]["example_message_ids"]

    event = _first_stream_event(stack, keys["CAREPULSE_OPERATOR_KEY"], topic)
    assert event["id"]
    assert event["alert"]["alert_id"] == alert["alert_id"]

    acked = operator_api.post(f"/v1/alerts/{alert['alert_id']}/ack", json={"note": "on it"})
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "acknowledged"
    listed = operator_api.get("/v1/alerts", params={"topic": topic}).json()["alerts"]
    assert [a["alert_id"] for a in listed] == [alert["alert_id"]], "one alert per incident"
