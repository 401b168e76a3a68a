import json
import time
from pathlib import Path
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


def _spans(stack: Stack, service: str) -> list[dict[str, Any]]:
    assert stack.traces_dir is not None
    path: Path = stack.traces_dir / f"{service}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _sent(stack: Stack, service: str, topic: str) -> dict[str, tuple[str, str]]:
    """Message id -> (trace id, span id) of the spans that sent it to a Kafka topic."""
    return {
        span["attributes"]["messaging.message.id"]: (
            span["context"]["trace_id"].removeprefix("0x"),
            span["context"]["span_id"].removeprefix("0x"),
        )
        for span in _spans(stack, service)
        if span["kind"] == "SpanKind.PRODUCER"
        and span["attributes"].get("messaging.destination.name") == topic
        and "messaging.message.id" in span["attributes"]
    }


def test_alert_evidence_points_to_the_traces_its_example_messages_were_sent_in(
    client_api: httpx.Client, operator_api: httpx.Client, stack: Stack, unique: str
) -> None:
    probe = client_api.post(
        "/v1/chat",
        json={"conversation_id": f"c-{unique}", "customer_id": f"u-{unique}", "text": COMPLAINT},
    )
    assert probe.status_code == 200, probe.text
    topic = probe.json()["intent"]
    burst = [
        {"conversation_id": f"c-{unique}-{i}", "customer_id": f"u-{unique}-{i}", "text": COMPLAINT}
        for i in range(40)
    ]
    assert client_api.post("/v1/messages", json={"messages": burst}).status_code == 202

    alert = _wait_for_alert(operator_api, topic)  # this burst's, or an earlier test's incident

    evidence = alert["evidence"]
    examples = {t["message_id"]: (t["trace_id"], t["span_id"]) for t in evidence["example_traces"]}
    assert evidence["example_message_ids"]
    assert sorted(examples) == sorted(evidence["example_message_ids"])
    # Each example's trace is the one ingest sent it in; the span is classify's send, in it.
    sent_raw = _sent(stack, "ingest", "messages.raw")
    sent_classified = _sent(stack, "classify", "messages.classified")
    for message_id, (trace_id, span_id) in examples.items():
        assert sent_raw[message_id][0] == trace_id, message_id
        assert sent_classified[message_id] == (trace_id, span_id), message_id
    # The span that opened the alert links to those same spans (a transaction retried after
    # a failure opens it again, with the same bucket's examples).
    openings = [
        span
        for span in _spans(stack, "alert")
        if span["name"] == "alert open" and span["attributes"]["alert.id"] == alert["alert_id"]
    ]
    assert openings, "no span opened the alert"
    for opening in openings:
        linked = {
            (
                link["context"]["trace_id"].removeprefix("0x"),
                link["context"]["span_id"].removeprefix("0x"),
            )
            for link in opening["links"]
        }
        assert linked == set(examples.values())
