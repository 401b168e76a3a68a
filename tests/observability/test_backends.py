"""Telemetry as data in the real backends: one chat's trace in Zipkin, every service's series
in Prometheus, exemplars that resolve to traces, rules loaded, Alertmanager discovered."""

import time
import uuid
from typing import Any

import httpx
import pytest

from observability.metrics import EXPORTED, JOBS
from tests.observability.backend_api import eventually, exemplar_trace_ids, promql, zipkin_trace
from tests.observability.observed_stack import ObservedStack

pytestmark = pytest.mark.integration

# Exported by every process that imports their module; series appear once something happens.
EVENT_ONLY = {
    "carepulse_kafka_dead_letters_total",
    "carepulse_kafka_produce_errors_total",
    "carepulse_alert_time_to_acknowledge_seconds",
    "carepulse_alert_notification_attempts_total",
    "carepulse_alert_notifications_dead_lettered_total",
    "carepulse_gateway_rate_limited_total",
    "carepulse_alerts_opened_total",
    "carepulse_recommend_feedback_events_total",
    "carepulse_recommend_suggestion_votes_total",
    "carepulse_recommend_retention_deleted_total",
    # A topic's ratio exists while its newest closed bucket has messages; one chat's bucket is
    # followed by empty ones within seconds (test_queries_have_data sees it under traffic).
    "carepulse_alert_negative_ratio",
    "ALERTS",
}


@pytest.fixture(scope="module")
def chat(observed: ObservedStack) -> dict[str, Any]:
    """One chat request, sent once for the module (test_pii_in_telemetry searches for text)."""
    body = {
        "conversation_id": f"c-{uuid.uuid4().hex[:12]}",
        "customer_id": f"cust-{uuid.uuid4().hex[:12]}",
        "text": "My card payment was declined twice today",
    }
    started = time.time()
    reply = httpx.post(
        f"{observed.stack.gateway_url}/v1/chat",
        json=body,
        headers={"X-API-Key": observed.client_key},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    return {"started_us": int(started * 1e6), **reply.json()}


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


def test_prometheus_scrapes_every_service_and_the_collector(observed: ObservedStack) -> None:
    def all_up() -> set[str] | None:
        up = {r["metric"]["job"] for r in promql(observed.prometheus, "up == 1")}
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
            return jobs <= {r["metric"]["job"] for r in promql(observed.prometheus, expr)}

        eventually(reported, 90, f"{expr} from {jobs}")


def test_every_catalogued_metric_is_exported_to_prometheus(
    observed: ObservedStack, chat: dict[str, Any]
) -> None:
    """Families that exist before their first event are known by their metadata."""

    def missing() -> set[str]:
        reply = httpx.get(f"{observed.prometheus}/api/v1/metadata", timeout=10)
        known = {_family(name) for name in reply.json()["data"]}
        names = {r["metric"]["__name__"] for r in promql(observed.prometheus, '{__name__=~".+"}')}
        known |= {_family(n) for n in names}
        return {name for name in EXPORTED if _family(name) not in known and name != "ALERTS"}

    eventually(lambda: not missing() or None, 90, "metadata of every catalogued metric")

    def empty() -> list[str]:
        return [
            name
            for name in EXPORTED
            if name not in EVENT_ONLY and not promql(observed.prometheus, _series(name))
        ]

    try:
        eventually(lambda: not empty() or None, 60, "a series of every catalogued metric")
    except AssertionError as error:
        raise AssertionError(f"{error}; without a series: {empty()}") from None


@pytest.mark.parametrize(
    "buckets",
    [
        # The collector's span metrics, from every span.
        'traces_span_metrics_duration_milliseconds_bucket{service_name="gateway"}',
        # The gateway's own histogram, its exemplar set while the request's span was current.
        'carepulse_gateway_request_duration_seconds_bucket{route="/v1/chat"}',
    ],
)
def test_a_latency_exemplar_resolves_to_a_trace_in_zipkin(
    observed: ObservedStack, chat: dict[str, Any], buckets: str
) -> None:
    trace_ids = eventually(
        lambda: exemplar_trace_ids(observed.prometheus, buckets), 60, f"an exemplar on {buckets}"
    )
    eventually(lambda: zipkin_trace(observed.zipkin, trace_ids[-1]), 60, "the exemplar's trace")


def test_prometheus_loaded_every_rule_and_found_alertmanager(observed: ObservedStack) -> None:
    rules = httpx.get(f"{observed.prometheus}/api/v1/rules", timeout=10).json()["data"]
    groups = {g["name"] for g in rules["groups"]}
    assert {"carepulse-chat-sli", "carepulse-chat-slo", "carepulse-model-latency"} <= groups
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
