"""A latency bucket on the gateway's /metrics links to the trace of a request that fell in it."""

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from tests.unit.gateway.api_testing import AS_CLIENT

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
ACK_ROUTE = 'route="/v1/alerts/{alert_id}/ack"'


@pytest.fixture(autouse=True)
def sdk_tracer_provider() -> None:
    """Sampled server spans need the SDK's provider; it can be set once per process."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())


def test_openmetrics_scrape_shows_the_request_trace_id_on_its_latency_bucket(
    client: TestClient,
) -> None:
    # The server span continues the caller's (sampled) trace, so its trace id is known here.
    traceparent = f"00-{CALLER_TRACE_ID}-00f067aa0ba902b7-01"
    client.post("/v1/alerts/a-1/ack", headers={**AS_CLIENT, "traceparent": traceparent})

    scrape = client.get("/metrics", headers={"Accept": OPENMETRICS})

    assert scrape.headers["content-type"].startswith("application/openmetrics-text")
    buckets = _ack_latency_buckets(scrape.text)
    assert any(f'# {{trace_id="{CALLER_TRACE_ID}"}}' in line for line in buckets), buckets


def test_a_scrape_without_openmetrics_in_accept_gets_the_prometheus_text_format(
    client: TestClient,
) -> None:
    traceparent = f"00-{CALLER_TRACE_ID}-00f067aa0ba902b7-01"
    client.post("/v1/alerts/a-1/ack", headers={**AS_CLIENT, "traceparent": traceparent})

    scrape = client.get("/metrics")

    assert scrape.headers["content-type"].startswith("text/plain")
    assert _ack_latency_buckets(scrape.text)
    assert CALLER_TRACE_ID not in scrape.text  # exemplars exist only in OpenMetrics


def _ack_latency_buckets(scrape: str) -> list[str]:
    return [
        line
        for line in scrape.splitlines()
        if line.startswith("carepulse_gateway_request_duration_seconds_bucket{")
        and ACK_ROUTE in line
    ]
