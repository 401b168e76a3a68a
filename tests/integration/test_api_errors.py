"""Bad requests get 4xx problem details through the whole running system, never a 500."""

import httpx
import pytest

from local.stack import Stack

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


def _assert_problem(reply: httpx.Response, status: int) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith(PROBLEM)
    body = reply.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]


def test_request_without_key_is_401(stack: Stack) -> None:
    reply = httpx.post(f"{stack.gateway_url}/v1/chat", json={})
    _assert_problem(reply, 401)
    assert "www-authenticate" in reply.headers


def test_unknown_key_is_401(stack: Stack) -> None:
    reply = httpx.get(f"{stack.gateway_url}/v1/alerts", headers={"X-API-Key": "nope"})
    _assert_problem(reply, 401)


def test_client_key_on_operator_route_is_403(client_api: httpx.Client) -> None:
    _assert_problem(client_api.get("/v1/alerts"), 403)


def test_operator_key_on_client_route_is_403(operator_api: httpx.Client) -> None:
    body = {"conversation_id": "c", "customer_id": "u", "text": "hello"}
    _assert_problem(operator_api.post("/v1/chat", json=body), 403)


def test_bearer_token_is_accepted(stack: Stack, keys: dict[str, str]) -> None:
    reply = httpx.get(
        f"{stack.gateway_url}/v1/alerts",
        headers={"Authorization": f"Bearer {keys['CAREPULSE_OPERATOR_KEY']}"},
    )
    assert reply.status_code == 200, reply.text


@pytest.mark.parametrize(
    "body",
    [
        {"customer_id": "u", "text": "missing conversation id"},
        {"conversation_id": "c", "customer_id": "u", "text": 42},
        {"conversation_id": "c", "customer_id": "u", "text": "   "},
        {"conversation_id": "c", "customer_id": "u", "text": "hi", "channel": "carrier-pigeon"},
        {"conversation_id": "c", "customer_id": "u", "text": "x" * 5000},
    ],
)
def test_malformed_chat_request_is_4xx_problem(client_api: httpx.Client, body: object) -> None:
    reply = client_api.post("/v1/chat", json=body)
    assert 400 <= reply.status_code < 500, reply.text
    _assert_problem(reply, reply.status_code)


def test_invalid_json_is_4xx_problem(client_api: httpx.Client) -> None:
    reply = client_api.post(
        "/v1/chat", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert 400 <= reply.status_code < 500
    _assert_problem(reply, reply.status_code)


def test_oversized_batch_is_4xx_problem(client_api: httpx.Client) -> None:
    batch = [{"conversation_id": "c", "customer_id": "u", "text": "hi"}] * 501
    reply = client_api.post("/v1/messages", json={"messages": batch})
    assert 400 <= reply.status_code < 500
    _assert_problem(reply, reply.status_code)


def test_acknowledging_unknown_alert_is_404(operator_api: httpx.Client) -> None:
    _assert_problem(operator_api.post("/v1/alerts/does-not-exist/ack", json={}), 404)
