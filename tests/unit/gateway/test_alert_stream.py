"""GET /v1/alerts/stream: Server-Sent Events over AlertService.StreamAlerts."""

import hashlib
import threading

import pytest
from carepulse.v1 import events_pb2
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.app import begin_shutdown
from tests.unit.gateway.api_testing import (
    AS_OPERATOR,
    MakeClient,
    ServerSentEvent,
    SseReader,
    is_problem,
)
from tests.unit.gateway.fake_upstreams import FakeUpstreams, alert


@pytest.fixture
def streaming(make_client: MakeClient, fakes: FakeUpstreams) -> TestClient:
    fakes.alerts.events = [
        events_pb2.AlertEvent(sequence=sequence, alert=alert(f"a-{sequence}"))
        for sequence in (1, 2, 3)
    ]
    return make_client(sse_heartbeat_s=0.05)


def test_stream_sends_each_event_with_its_sequence_as_id(streaming: TestClient) -> None:
    with streaming.stream("GET", "/v1/alerts/stream", headers=AS_OPERATOR) as response:
        events = SseReader(response).read(3)

    assert response.headers["content-type"].startswith("text/event-stream")
    assert [(e.id, e.name) for e in events] == [("1", "alert"), ("2", "alert"), ("3", "alert")]
    assert events[0].data["sequence"] == 1
    assert events[0].data["alert"]["alert_id"] == "a-1"


def test_stream_resumes_after_last_event_id(streaming: TestClient, fakes: FakeUpstreams) -> None:
    headers = {**AS_OPERATOR, "Last-Event-ID": "2"}
    # A reconnecting EventSource repeats its first URL; the header is the newer position.
    with streaming.stream("GET", "/v1/alerts/stream?after=1", headers=headers) as response:
        (event,) = SseReader(response).read(1)

    assert event.id == "3"
    assert fakes.alerts.stream_requests[0].after_sequence == 2


def test_stream_resumes_after_query_parameter(streaming: TestClient) -> None:
    with streaming.stream("GET", "/v1/alerts/stream?after=1", headers=AS_OPERATOR) as response:
        events = SseReader(response).read(2)

    assert [e.id for e in events] == ["2", "3"]


def test_idle_stream_sends_heartbeat_comments(streaming: TestClient) -> None:
    headers = {**AS_OPERATOR, "Last-Event-ID": "3"}
    with streaming.stream("GET", "/v1/alerts/stream", headers=headers) as response:
        found = SseReader(response).read(2)

    assert found == [": heartbeat", ": heartbeat"]


def test_leaving_client_cancels_the_upstream_stream(
    streaming: TestClient, fakes: FakeUpstreams
) -> None:
    with streaming.stream("GET", "/v1/alerts/stream", headers=AS_OPERATOR) as response:
        SseReader(response).read(1)

    assert fakes.alerts.stream_cancelled.wait(timeout=5)
    assert "carepulse_gateway_open_alert_streams 0.0" in streaming.get("/metrics").text


def test_shutdown_ends_open_streams_and_refuses_new_ones(
    streaming: TestClient, fakes: FakeUpstreams
) -> None:
    app = streaming.app
    assert isinstance(app, FastAPI)
    with streaming.stream("GET", "/v1/alerts/stream", headers=AS_OPERATOR) as response:
        events = SseReader(response)
        events.read(3)
        threading.Timer(0.1, begin_shutdown, args=(app,)).start()
        rest = events.read(1000)  # returns when the stream ends

    assert all(not isinstance(item, ServerSentEvent) for item in rest)
    assert fakes.alerts.stream_cancelled.wait(timeout=5)
    assert is_problem(streaming.get("/v1/alerts/stream", headers=AS_OPERATOR), 503)


def test_stream_is_503_when_the_alert_service_is_down(
    make_client: MakeClient, dead_address: str
) -> None:
    client = make_client(alert_address=dead_address)

    response = client.get("/v1/alerts/stream", headers=AS_OPERATOR)

    assert is_problem(response, 503)
    assert "retry-after" in response.headers


def test_malformed_last_event_id_is_400(streaming: TestClient) -> None:
    headers = {**AS_OPERATOR, "Last-Event-ID": "yesterday"}

    assert is_problem(streaming.get("/v1/alerts/stream", headers=headers), 400)


def test_streams_beyond_the_gateway_limit_are_429(make_client: MakeClient) -> None:
    client = make_client(max_alert_streams=1, sse_heartbeat_s=0.05)
    with client.stream("GET", "/v1/alerts/stream", headers=AS_OPERATOR) as first:
        SseReader(first).read(1)

        refused = client.get("/v1/alerts/stream", headers=AS_OPERATOR)
        assert is_problem(refused, 429)
        assert refused.headers["retry-after"]


def test_streams_beyond_the_per_key_limit_are_429_but_other_keys_still_open(
    make_client: MakeClient,
) -> None:
    other_key = "second-operator-key"
    client = make_client(
        max_alert_streams_per_key=1,
        sse_heartbeat_s=0.05,
        api_key_hashes=f"operator:bob:{hashlib.sha256(other_key.encode()).hexdigest()}",
    )
    with client.stream("GET", "/v1/alerts/stream", headers=AS_OPERATOR) as first:
        SseReader(first).read(1)

        assert is_problem(client.get("/v1/alerts/stream", headers=AS_OPERATOR), 429)
        with client.stream("GET", "/v1/alerts/stream", headers={"X-API-Key": other_key}) as bob:
            assert bob.status_code == 200


def test_stream_the_alert_service_never_attaches_fails_instead_of_heartbeating(
    make_client: MakeClient, fakes: FakeUpstreams
) -> None:
    fakes.alerts.attach_streams = False
    client = make_client(sse_heartbeat_s=0.05, alert_deadline_s=0.3)

    response = client.get("/v1/alerts/stream", headers=AS_OPERATOR)

    assert is_problem(response, 503)
    assert response.json()["type"].endswith("alert-stream-not-attached")
    assert fakes.alerts.stream_cancelled.wait(5), "the hanging upstream call is cancelled"
