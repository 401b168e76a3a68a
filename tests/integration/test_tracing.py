"""Telemetry as data: the spans the services export, read back from their trace files, and the
Kafka metrics on their /metrics."""

import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from local.stack import Stack
from servicekit.pseudonym import Pseudonymizer

pytestmark = pytest.mark.integration

Span = dict[str, Any]
T = TypeVar("T")


def _spans(stack: Stack, service: str) -> list[Span]:
    assert stack.traces_dir is not None
    path: Path = stack.traces_dir / f"{service}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _eventually(find: Callable[[], T | None], what: str, timeout_s: float = 60) -> T:
    deadline = time.monotonic() + timeout_s
    while (found := find()) is None:
        assert time.monotonic() < deadline, f"no {what} within {timeout_s} s"
        time.sleep(1)
    return found


def _ingest_one(client_api: httpx.Client, unique: str) -> str:
    message = {"conversation_id": f"c-{unique}", "customer_id": "u", "text": "card declined"}
    reply = client_api.post("/v1/messages", json={"messages": [message]})
    assert reply.status_code == 202, reply.text
    (message_id,) = reply.json()["ids"]
    return str(message_id)


def _send_span(stack: Stack, service: str, topic: str, message_id: str) -> Span | None:
    for span in _spans(stack, service):
        if (
            span["name"] == f"{topic} send"
            and span["kind"] == "SpanKind.PRODUCER"
            and span["attributes"].get("messaging.message.id") == message_id
        ):
            return span
    return None


def _send_spans(stack: Stack, message_id: str) -> tuple[Span, Span]:
    """Ingest's `messages.raw send` and classify's `messages.classified send` of one message."""
    raw = _eventually(
        lambda: _send_span(stack, "ingest", "messages.raw", message_id), "ingest send span"
    )
    classified = _eventually(
        lambda: _send_span(stack, "classify", "messages.classified", message_id),
        "classify send span",
    )
    return raw, classified


def _link_to(stack: Stack, service: str, topic: str, producer: Span) -> dict[str, Any] | None:
    """The link to this producer span from one of the service's "<topic> process" spans."""
    for span in _spans(stack, service):
        if span["name"] != f"{topic} process" or span["kind"] != "SpanKind.CONSUMER":
            continue
        assert span["attributes"]["messaging.consumer.group.name"], service
        for link in span["links"]:
            if link["context"] == producer["context"]:
                return dict(link)
    return None


def test_the_classified_messages_send_span_is_a_child_of_the_raw_messages_send_span(
    client_api: httpx.Client, stack: Stack, unique: str
) -> None:
    message_id = _ingest_one(client_api, unique)
    raw, classified = _send_spans(stack, message_id)
    assert classified["parent_id"] == raw["context"]["span_id"]
    assert classified["context"]["trace_id"] == raw["context"]["trace_id"]


def test_consumer_spans_of_classify_recommend_and_alert_link_into_the_ingest_trace(
    client_api: httpx.Client, stack: Stack, unique: str
) -> None:
    message_id = _ingest_one(client_api, unique)
    raw, classified = _send_spans(stack, message_id)
    consumed = {"classify": raw, "recommend": classified, "alert": classified}
    for service, producer in consumed.items():
        topic = producer["attributes"]["messaging.destination.name"]
        find = partial(_link_to, stack, service, topic, producer)
        link = _eventually(find, f"{service} link to the {topic} send span")

        assert link["context"]["trace_id"] == raw["context"]["trace_id"], service
        attributes = link["attributes"]
        assert attributes["messaging.message.id"] == message_id, service
        partition = str(producer["attributes"]["messaging.kafka.partition"])
        assert attributes["messaging.destination.partition.id"] == partition, service
        assert isinstance(attributes["messaging.kafka.offset"], int), service


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

    def classified_send_span() -> Span | None:
        for span in _spans(stack, "classify"):
            if (
                span["name"] == "messages.classified send"
                and span["attributes"].get("messaging.kafka.message.key") == pseudonym
            ):
                return span
        return None

    # Classify sends last, after ingest: by then both producer spans are written.
    _eventually(classified_send_span, "classify send span with the conversation's pseudonym")
    assert any(
        s["name"] == "messages.raw send"
        and s["attributes"].get("messaging.kafka.message.key") == pseudonym
        for s in _spans(stack, "ingest")
    )
    for service in ("gateway", "ingest", "classify", "recommend", "alert"):
        raw = (stack.traces_dir / f"{service}.jsonl").read_text()  # type: ignore[operator]
        assert conversation not in raw and f"customer-{unique}" not in raw, service


def _lag_samples(stack: Stack, service: str, topic: str) -> list[Sample] | None:
    url = f"http://127.0.0.1:{stack.ports.metrics(service)}/metrics"
    samples = [
        sample
        for family in text_string_to_metric_families(httpx.get(url, timeout=5).text)
        if family.name == "carepulse_kafka_consumer_lag"
        for sample in family.samples
        if sample.labels["topic"] == topic
    ]
    return samples or None


def test_each_consumer_exports_its_lag_per_partition(
    client_api: httpx.Client, stack: Stack, unique: str
) -> None:
    _ingest_one(client_api, unique)

    consumers = [
        ("classify", "messages.raw"),
        ("recommend", "messages.classified"),
        ("alert", "messages.classified"),
    ]
    for service, topic in consumers:
        find = partial(_lag_samples, stack, service, topic)
        for sample in _eventually(find, f"lag of {topic} on {service}'s /metrics"):
            assert sample.labels["group"] and sample.labels["partition"].isdigit(), service
            assert sample.value >= 0, service
