"""No message text, customer id or conversation id in any span, metric label or log line.

The project's PII corpus goes through POST /v1/chat and POST /v1/messages, each text with a
marker unique to this run, each customer and conversation id a marker too; every place
telemetry is stored is then searched for the markers: Zipkin's spans, Prometheus' label
values, every service's log file and the log records the services exported over OTLP (the
collector writes each to its own log). Ids reach Kafka as record keys, and telemetry only as
their pseudonyms.
"""

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from local.observability import REPO_ROOT
from local.stack import GRPC_SERVICES
from tests.observability.backend_api import eventually, span_links, zipkin_spans
from tests.observability.observed_stack import ObservedStack

pytestmark = pytest.mark.integration

CORPUS = REPO_ROOT / "tests" / "data" / "pii_corpus.jsonl"
PER_KIND = 2  # of each kind of PII in the corpus: every detector's input, in a few minutes


@dataclass(frozen=True)
class SentCorpus:
    markers: re.Pattern[str]  # any marker of this run
    started_s: float


def _corpus_texts() -> list[str]:
    taken: dict[str, int] = {}
    texts = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if taken.get(entry["kind"], 0) < PER_KIND:
            taken[entry["kind"]] = taken.get(entry["kind"], 0) + 1
            texts.append(entry["text"])
    return texts


@pytest.fixture(scope="module")
def sent(observed: ObservedStack) -> SentCorpus:
    """t<i> marks a text, u<i>/b<i> a customer id (chat/batch), c<i> a conversation id."""
    run = f"zq{uuid.uuid4().hex[:10]}"
    started_s = time.time()
    texts = _corpus_texts()
    headers = {"X-API-Key": observed.client_key}
    with httpx.Client(base_url=observed.stack.gateway_url, headers=headers, timeout=60) as client:
        for i, text in enumerate(texts):
            body = {
                "conversation_id": f"{run}c{i:03d}",
                "customer_id": f"{run}u{i:03d}",
                "text": f"{text} (ref {run}t{i:03d})",
            }
            reply = client.post("/v1/chat", json=body)
            assert reply.status_code == 200, reply.text
        batch = [
            {
                "conversation_id": f"{run}c{i:03d}",
                "customer_id": f"{run}b{i:03d}",
                "text": f"{text} (ref {run}t{i:03d})",
            }
            for i, text in enumerate(texts)
        ]
        reply = client.post("/v1/messages", json={"messages": batch})
        assert reply.status_code == 202, reply.text
        last_id = reply.json()["ids"][-1]
    _wait_until_consumed(observed, started_s, last_id)
    return SentCorpus(re.compile(rf"{run}[tubc]\d{{3}}"), started_s)


def _wait_until_consumed(observed: ObservedStack, since_s: float, message_id: str) -> None:
    """Until alert and recommend processed the batch's last message; logs then follow within
    the log processor's export delay."""
    for consumer in ("alert", "recommend"):

        def linked(consumer: str = consumer) -> bool:
            spans = zipkin_spans(
                observed.zipkin,
                since_s,
                serviceName=consumer,
                spanName="messages.classified process",
            )
            return any(
                link.attributes.get("messaging.message.id") == message_id
                for span in spans
                for link in span_links(span)
            )

        eventually(linked, 120, f"{consumer} consumed the corpus")
    time.sleep(2)


def _found(markers: re.Pattern[str], places: Iterator[tuple[str, str]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for where, text in places:
        for marker in markers.findall(text):
            found.setdefault(where, set()).add(marker)
    return found


def test_no_marker_in_any_span_zipkin_stored(observed: ObservedStack, sent: SentCorpus) -> None:
    spans = zipkin_spans(observed.zipkin, sent.started_s)
    assert len(spans) > 100, "the corpus's spans are not in Zipkin"
    places = ((f"{s['localEndpoint']['serviceName']}: {s['name']}", json.dumps(s)) for s in spans)
    assert not _found(sent.markers, places)


def test_no_marker_in_any_prometheus_label(observed: ObservedStack, sent: SentCorpus) -> None:
    api = f"{observed.prometheus}/api/v1"
    names: list[str] = httpx.get(f"{api}/labels", timeout=10).json()["data"]
    assert {"job", "topic", "route", "intent"} <= set(names)

    def values() -> Iterator[tuple[str, str]]:
        yield "label names", " ".join(names)
        for name in names:
            reply = httpx.get(f"{api}/label/{name}/values", timeout=10)
            yield name, " ".join(reply.json()["data"])

    assert not _found(sent.markers, values())


def test_no_marker_in_any_service_log_line(observed: ObservedStack, sent: SentCorpus) -> None:
    logs = observed.service_logs()
    assert {p.stem for p in logs} >= {*GRPC_SERVICES, "gateway"}
    places = ((p.name, p.read_text(errors="replace")) for p in logs)
    assert not _found(sent.markers, places)


def test_no_marker_in_the_logs_exported_over_otlp(
    observed: ObservedStack, sent: SentCorpus
) -> None:
    exported = observed.backends.log_file("collector").read_text(errors="replace")
    # The collector's debug exporter prints each record with its resource, body and attributes.
    for name in (*GRPC_SERVICES, "gateway"):
        assert f"service.name: Str({name})" in exported, f"no log record from {name}"
    assert "Body: Str(" in exported
    assert not _found(sent.markers, iter([("collector (OTLP logs)", exported)]))
