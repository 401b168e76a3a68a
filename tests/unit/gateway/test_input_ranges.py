"""Numbers and times beyond what the contracts can carry are 4xx problems, never 500s."""

import pytest
from fastapi.testclient import TestClient

from tests.unit.gateway.api_testing import AS_CLIENT, AS_OPERATOR, MakeClient, is_problem
from tests.unit.gateway.fake_upstreams import FakeUpstreams

BEYOND_INT64 = str(2**63)
# Valid ISO 8601 instants whose UTC equivalent lies outside years 1..9999.
BEYOND_UTC = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client(sse_heartbeat_s=0.05)


def test_last_event_id_beyond_int64_is_400_without_opening_a_stream(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    headers = {**AS_OPERATOR, "Last-Event-ID": BEYOND_INT64}

    assert is_problem(client.get("/v1/alerts/stream", headers=headers), 400)
    assert fakes.alerts.stream_requests == []


def test_after_beyond_int64_is_422_without_opening_a_stream(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    response = client.get(f"/v1/alerts/stream?after={BEYOND_INT64}", headers=AS_OPERATOR)

    assert is_problem(response, 422)
    assert fakes.alerts.stream_requests == []


@pytest.mark.parametrize("moment", BEYOND_UTC)
def test_alert_time_filters_beyond_the_utc_range_are_422(client: TestClient, moment: str) -> None:
    response = client.get("/v1/alerts", params={"opened_after": moment}, headers=AS_OPERATOR)

    assert is_problem(response, 422)
    assert response.json()["errors"][0]["field"] == "opened_after"


@pytest.mark.parametrize("moment", BEYOND_UTC)
def test_message_sent_at_beyond_the_utc_range_is_422(client: TestClient, moment: str) -> None:
    message = {"conversation_id": "c", "customer_id": "u", "text": "hi", "sent_at": moment}
    response = client.post("/v1/messages", json={"messages": [message]}, headers=AS_CLIENT)

    assert is_problem(response, 422)
    assert response.json()["errors"][0]["field"].endswith("sent_at")
