"""Probes, metrics and docs: what Kubernetes, Prometheus and a newcomer look at."""

import grpc
from fastapi.testclient import TestClient

from gateway.app import begin_shutdown, create_app
from gateway.settings import GatewaySettings
from gateway.upstreams import Upstreams
from tests.unit.gateway.api_testing import (
    AS_CLIENT,
    AS_OPERATOR,
    OPERATOR_KEY,
    MakeClient,
    is_problem,
)
from tests.unit.gateway.fake_upstreams import FakeUpstreams


def test_healthz_is_ok_without_a_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_is_200_when_every_upstream_serves(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["upstreams"] == {
        "ingest": "SERVING",
        "classify": "SERVING",
        "recommend": "SERVING",
        "alert": "SERVING",
    }


def test_readyz_stays_200_when_an_upstream_is_down_and_says_which(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    # One service's outage must not take every gateway out of the load balancer: the other
    # routes still work, and the affected ones answer 503 problems themselves.
    fakes.set_serving("carepulse.v1.ClassifyService", False)

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["upstreams"]["classify"] == "NOT_SERVING"


def test_readyz_is_503_once_the_gateway_is_shutting_down(client: TestClient) -> None:
    begin_shutdown(client.app)  # type: ignore[arg-type]

    assert is_problem(client.get("/readyz"), 503)


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.post("/v1/alerts/a-1/ack", headers=AS_CLIENT)

    scrape = client.get("/metrics").text

    assert (
        'carepulse_gateway_requests_total{method="POST",route="/v1/alerts/{alert_id}/ack",'
        'status="403"} 1.0'
    ) in scrape
    assert "carepulse_gateway_request_duration_seconds_bucket" in scrape


def test_openapi_documents_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert {"/v1/chat", "/v1/messages", "/v1/feedback", "/v1/alerts", "/v1/alerts/stream"} <= set(
        paths
    )
    assert client.get("/docs").status_code == 200


def test_openapi_documents_error_bodies_as_problem_json(client: TestClient) -> None:
    chat_responses = client.get("/openapi.json").json()["paths"]["/v1/chat"]["post"]["responses"]

    for status in ("401", "422", "503"):
        assert set(chat_responses[status]["content"]) == {"application/problem+json"}
    assert set(chat_responses["200"]["content"]) == {"application/json"}
    # Served the same on every call, not moved again.
    assert client.get("/openapi.json").json()["paths"]["/v1/chat"]["post"]["responses"] == (
        chat_responses
    )


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Origin": "https://console.example"})

    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_configured_origins(make_client: MakeClient) -> None:
    client = make_client(cors_origins="https://console.example")

    preflight = client.options(
        "/v1/alerts",
        headers={
            "Origin": "https://console.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-API-Key",
        },
    )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://console.example"


def test_unexpected_failure_is_500_problem_without_internals(fakes: FakeUpstreams) -> None:
    def broken_channel() -> grpc.Channel:
        raise RuntimeError("secret: /etc/gateway/config")

    settings = GatewaySettings(CAREPULSE_OPERATOR_KEY=OPERATOR_KEY)
    channel = grpc.insecure_channel(fakes.address)
    upstreams = Upstreams(
        ingest=channel,
        classify=channel,
        recommend=channel,
        alert=channel,
        alert_stream_channel=broken_channel,
    )
    with TestClient(create_app(settings, upstreams), raise_server_exceptions=False) as client:
        response = client.get("/v1/alerts/stream", headers=AS_OPERATOR)
    channel.close()

    assert is_problem(response, 500)
    assert "secret" not in response.text
