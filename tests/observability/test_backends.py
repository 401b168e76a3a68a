"""Telemetry as data in the real backends: one chat's trace in Zipkin, every service's series
in Prometheus, exemplars that resolve to traces, rules loaded, Alertmanager discovered."""

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest

from observability.metrics import EXPORTED, JOBS
from tests.observability.conftest import ObservedStack

pytestmark = pytest.mark.integration

T = TypeVar("T")
# Exported by every process that imports their module; series appear once something happens.
EVENT_ONLY = {
    "carepulse_kafka_dead_letters_total",
    "carepulse_alert_notification_attempts_total",
    "carepulse_alert_notifications_dead_lettered_total",
    "carepulse_gateway_rate_limited_total",
    "carepulse_alerts_opened_total",
    "carepulse_recommend_feedback_events_total",
    "carepulse_recommend_retention_deleted_total",
    "ALERTS",
}


def eventually(check: Callable[[], T | None], timeout_s: float = 60, what: str = "") -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s}s: {what}")
        time.sleep(1)


def promql(observed: ObservedStack, expr: str) -> list[dict[str, Any]]:
    reply = httpx.get(f"{observed.prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    reply.raise_for_status()
    result: list[dict[str, Any]] = reply.json()["data"]["result"]
    return result


def zipkin_trace(observed: ObservedStack, trace_id: str) -> list[dict[str, Any]]:
    reply = httpx.get(f"{observed.zipkin}/api/v2/trace/{trace_id}", timeout=10)
    if reply.status_code == 404:
        return []
    reply.raise_for_status()
    spans: list[dict[str, Any]] = reply.json()
    return spans


@pytest.fixture(scope="module")
def chat(observed: ObservedStack) -> dict[str, Any]:
    """One chat request, sent once for the module. The marker in its text and customer id must
    never be stored; the conversation id is an opaque id (the Kafka key) and may be."""
    marker = f"zq{uuid.uuid4().hex[:12]}"
    body = {
        "conversation_id": f"c-{uuid.uuid4().hex[:12]}",
        "customer_id": f"cust-{marker}",
        "text": f"My card payment {marker} was declined twice today",
    }
    started = time.time()
    reply = httpx.post(
        f"{observed.stack.gateway_url}/v1/chat",
        json=body,
        headers={"X-API-Key": observed.client_key},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    return {"marker": marker, "started_us": int(started * 1e6), **reply.json()}


def _chat_trace(observed: ObservedStack, chat: dict[str, Any]) -> list[dict[str, Any]] | None:
    reply = httpx.get(
        f"{observed.zipkin}/api/v2/traces",
        params={"serviceName": "gateway", "spanName": "post /v1/chat", "limit": 50},
        timeout=10,
    )
    reply.raise_for_status()
    for trace in reply.json():
        if min(s["timestamp"] for s in trace) < chat["started_us"] - 1_000_000:
            continue
        services = {s["localEndpoint"]["serviceName"] for s in trace}
        if {"gateway", "ingest", "classify", "recommend"} <= services:
            return list(trace)
    return None


def test_one_chat_is_one_trace_in_zipkin_from_the_gateway_to_every_service_it_calls(
    observed: ObservedStack, chat: dict[str, Any]
) -> None:
    trace = eventually(lambda: _chat_trace(observed, chat), 60, "the chat's trace in Zipkin")
    ids = {s["id"] for s in trace}
    roots = [s for s in trace if "parentId" not in s]
    assert len(roots) == 1
    assert roots[0]["localEndpoint"]["serviceName"] == "gateway"
    assert roots[0].get("kind") == "SERVER"
    assert all(s["parentId"] in ids for s in trace if "parentId" in s), "a parent is missing"
    by_id = {s["id"]: s for s in trace}
    # Each service's server span hangs under a gateway client span: HTTP -> gRPC parent/child.
    for service in ("ingest", "classify", "recommend"):
        servers = [
            s
            for s in trace
            if s["localEndpoint"]["serviceName"] == service and s.get("kind") == "SERVER"
        ]
        assert servers, f"no {service} server span"
        parent = by_id[servers[0]["parentId"]]
        assert parent["localEndpoint"]["serviceName"] == "gateway", service


def test_no_message_text_or_customer_id_reaches_the_trace_store(
    observed: ObservedStack, chat: dict[str, Any]
) -> None:
    trace = eventually(lambda: _chat_trace(observed, chat), 60, "the chat's trace in Zipkin")
    stored = zipkin_trace(observed, trace[0]["traceId"])
    leaks = [
        f"{span['localEndpoint']['serviceName']} {span['name']}: {key}={value}"
        for span in stored
        for key, value in {"name": span["name"], **span.get("tags", {})}.items()
        if chat["marker"] in value
    ]
    assert not leaks


def test_prometheus_scrapes_every_service_and_the_collector(observed: ObservedStack) -> None:
    def all_up() -> set[str] | None:
        up = {r["metric"]["job"] for r in promql(observed, "up == 1")}
        return up if {*JOBS, "spanmetrics", "otel-collector"} <= up else None

    eventually(all_up, 60, "every target up")


def test_the_chat_shows_in_the_services_series(
    observed: ObservedStack, chat: dict[str, Any]
) -> None:
    queries = {
        'carepulse_gateway_requests_total{route="/v1/chat", status="200"}': {"gateway"},
        "carepulse_grpc_server_handled_total": {"ingest", "classify", "recommend"},
        "carepulse_kafka_records_consumed_total": {"classify", "alert", "recommend"},
        'traces_span_metrics_calls_total{service_name="gateway"}': {"spanmetrics"},
    }
    for expr, jobs in queries.items():

        def reported(expr: str = expr, jobs: set[str] = jobs) -> bool:
            return jobs <= {r["metric"]["job"] for r in promql(observed, expr)}

        eventually(reported, 90, f"{expr} from {jobs}")


def test_every_catalogued_metric_is_exported_to_prometheus(
    observed: ObservedStack, chat: dict[str, Any]
) -> None:
    """Families that exist before their first event are known by their metadata."""

    def missing() -> set[str]:
        reply = httpx.get(f"{observed.prometheus}/api/v1/metadata", timeout=10)
        known = {_family(name) for name in reply.json()["data"]}
        names = {r["metric"]["__name__"] for r in promql(observed, '{__name__=~".+"}')}
        known |= {_family(n) for n in names}
        return {name for name in EXPORTED if _family(name) not in known and name != "ALERTS"}

    eventually(lambda: not missing() or None, 90, "metadata of every catalogued metric")

    def empty() -> list[str]:
        return [
            name
            for name in EXPORTED
            if name not in EVENT_ONLY and not promql(observed, _series(name))
        ]

    eventually(lambda: not empty() or None, 60, "a series of every catalogued metric")


def test_a_latency_exemplar_resolves_to_a_trace_in_zipkin(
    observed: ObservedStack, chat: dict[str, Any]
) -> None:
    def exemplar_trace_ids() -> list[str]:
        now = time.time()
        reply = httpx.get(
            f"{observed.prometheus}/api/v1/query_exemplars",
            params={
                "query": 'traces_span_metrics_duration_milliseconds_bucket{service_name="gateway"}',
                "start": now - 600,
                "end": now,
            },
            timeout=10,
        )
        reply.raise_for_status()
        return [
            e["labels"]["trace_id"]
            for series in reply.json()["data"]
            for e in series["exemplars"]
            if "trace_id" in e["labels"]
        ]

    trace_ids = eventually(exemplar_trace_ids, 60, "an exemplar on the gateway's span latency")
    eventually(lambda: zipkin_trace(observed, trace_ids[-1]), 60, "the exemplar's trace")


def test_prometheus_loaded_every_rule_and_found_alertmanager(observed: ObservedStack) -> None:
    rules = httpx.get(f"{observed.prometheus}/api/v1/rules", timeout=10).json()["data"]
    groups = {g["name"] for g in rules["groups"]}
    assert {"carepulse-chat-sli", "carepulse-chat-slo", "carepulse-pending-models"} <= groups
    assert all(r["health"] != "err" for g in rules["groups"] for r in g["rules"])
    managers = eventually(
        lambda: httpx.get(f"{observed.prometheus}/api/v1/alertmanagers", timeout=10).json()["data"][
            "activeAlertmanagers"
        ],
        30,
        "an active Alertmanager",
    )
    assert managers[0]["url"].startswith(observed.alertmanager)


def _family(name: str) -> str:
    for suffix in ("_total", "_bucket", "_count", "_sum", "_created"):
        name = name.removesuffix(suffix)
    return name


def _series(name: str) -> str:
    kind = (EXPORTED[name]).kind
    return f"{name}_count" if kind == "histogram" else name
