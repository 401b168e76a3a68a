"""Telemetry as data: the spans the services export, read back from their trace files."""

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.stack import Stack
from servicekit.pseudonym import Pseudonymizer

pytestmark = pytest.mark.integration


def _spans(stack: Stack, service: str) -> list[dict[str, Any]]:
    assert stack.traces_dir is not None
    path: Path = stack.traces_dir / f"{service}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_kafka_consumer_span_links_to_the_producer_span_of_its_record(
    client_api: httpx.Client, stack: Stack, unique: str
) -> None:
    reply = client_api.post(
        "/v1/messages",
        json={"messages": [{"conversation_id": f"c-{unique}", "customer_id": "u", "text": "hi"}]},
    )
    assert reply.status_code == 202, reply.text

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        published = {
            s["context"]["span_id"]
            for s in _spans(stack, "ingest")
            if s["name"] == "messages.raw publish" and s["kind"] == "SpanKind.PRODUCER"
        }
        linked = {
            link["context"]["span_id"]
            for s in _spans(stack, "classify")
            if s["name"] == "messages.raw process" and s["kind"] == "SpanKind.CONSUMER"
            for link in s["links"]
        }
        if published & linked:
            return
        time.sleep(1)
    raise AssertionError("no classify consumer span links to an ingest producer span")


def test_gateway_request_and_ingest_rpc_share_one_trace(
    client_api: httpx.Client, stack: Stack, unique: str
) -> None:
    body = {"conversation_id": f"c-{unique}", "customer_id": "u", "text": "card declined"}
    assert client_api.post("/v1/chat", json=body).status_code == 200

    gateway_traces = {s["context"]["trace_id"] for s in _spans(stack, "gateway")}
    ingest_server_traces = {
        s["context"]["trace_id"] for s in _spans(stack, "ingest") if s["kind"] == "SpanKind.SERVER"
    }
    assert gateway_traces & ingest_server_traces


def test_producer_spans_carry_the_record_keys_pseudonym_never_the_id(
    client_api: httpx.Client, stack: Stack, unique: str, keys: dict[str, str]
) -> None:
    conversation = f"conversation-{unique}"
    message = {"conversation_id": conversation, "customer_id": f"customer-{unique}", "text": "hi"}
    assert client_api.post("/v1/messages", json={"messages": [message]}).status_code == 202
    pseudonym = Pseudonymizer(keys["CAREPULSE_PSEUDONYM_KEY"].encode())(conversation)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        published = [
            s
            for s in _spans(stack, "ingest")
            if s["name"] == "messages.raw publish"
            and s["attributes"].get("messaging.kafka.message.key") == pseudonym
        ]
        if published:
            break
        time.sleep(1)
    assert published, "no producer span with the conversation's pseudonym"
    for service in ("gateway", "ingest", "classify", "recommend", "alert"):
        raw = (stack.traces_dir / f"{service}.jsonl").read_text()  # type: ignore[operator]
        assert conversation not in raw and f"customer-{unique}" not in raw, service
