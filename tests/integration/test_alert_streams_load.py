"""Many open alert streams against the real services: unary calls and readiness stay served."""

import time
from collections.abc import Iterator

import grpc
import httpx
import pytest
from carepulse.v1 import alert_pb2, alert_pb2_grpc

from local.stack import Stack
from services.alert.settings import AlertSettings

pytestmark = pytest.mark.integration

ATTACHED = ("carepulse-stream", "attached")


@pytest.fixture
def alert_stub(stack: Stack) -> Iterator[alert_pb2_grpc.AlertServiceStub]:
    with grpc.insecure_channel(stack.ports.address("alert")) as channel:
        yield alert_pb2_grpc.AlertServiceStub(channel)


def test_streams_beyond_the_alert_services_bound_are_refused_and_unary_calls_still_answer(
    alert_stub: alert_pb2_grpc.AlertServiceStub,
    operator_api: httpx.Client,
    stack: Stack,
) -> None:
    bound = AlertSettings.model_fields["max_streams"].default
    # As many gateways' worth of streams as an attacker could open: more than the bound.
    calls = [
        alert_stub.StreamAlerts(alert_pb2.StreamAlertsRequest(), timeout=60)
        for _ in range(bound + 10)
    ]
    try:
        attached = refused = 0
        for call in calls:
            if ATTACHED in tuple(call.initial_metadata() or ()):
                attached += 1
            else:
                with pytest.raises(grpc.RpcError) as error:
                    next(call)
                assert error.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
                refused += 1
        assert (attached, refused) == (bound, 10)

        started = time.monotonic()
        listed = operator_api.get("/v1/alerts")
        ready = httpx.get(f"{stack.gateway_url}/readyz", timeout=5)
        assert listed.status_code == 200, listed.text
        assert ready.status_code == 200, ready.text
        assert time.monotonic() - started < 2
    finally:
        for call in calls:
            call.cancel()


def test_one_key_cannot_hold_more_than_its_share_of_streams(operator_api: httpx.Client) -> None:
    with (
        operator_api.stream("GET", "/v1/alerts/stream") as first,
        operator_api.stream("GET", "/v1/alerts/stream") as second,
        operator_api.stream("GET", "/v1/alerts/stream") as third,
        operator_api.stream("GET", "/v1/alerts/stream") as fourth,
    ):
        assert [r.status_code for r in (first, second, third, fourth)] == [200] * 4

        refused = operator_api.get("/v1/alerts/stream")

    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
