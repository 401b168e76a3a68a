import hashlib

from fastapi.testclient import TestClient

from tests.unit.gateway.api_testing import (
    AS_CLIENT,
    AS_OPERATOR,
    CLIENT_KEY,
    MakeClient,
    is_problem,
)

CHAT = {"conversation_id": "c-1", "customer_id": "u-1", "text": "Where is my refund?"}


def test_request_without_key_is_401_with_challenge(client: TestClient) -> None:
    response = client.post("/v1/chat", json=CHAT)

    assert is_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "X-API-Key" in response.json()["detail"]


def test_unknown_key_is_401(client: TestClient) -> None:
    response = client.post("/v1/chat", json=CHAT, headers={"X-API-Key": "guessed"})

    assert is_problem(response, 401)
    assert "www-authenticate" in response.headers


def test_bearer_key_is_accepted(client: TestClient) -> None:
    response = client.post("/v1/chat", json=CHAT, headers={"Authorization": f"Bearer {CLIENT_KEY}"})

    assert response.status_code == 200


def test_operator_key_cannot_chat(client: TestClient) -> None:
    response = client.post("/v1/chat", json=CHAT, headers=AS_OPERATOR)

    assert is_problem(response, 403)
    assert "client key" in response.json()["detail"]


def test_client_key_cannot_list_alerts(client: TestClient) -> None:
    assert is_problem(client.get("/v1/alerts", headers=AS_CLIENT), 403)


def test_hashed_key_authenticates_and_names_the_acknowledging_operator(
    make_client: MakeClient,
) -> None:
    digest = hashlib.sha256(b"alice-secret").hexdigest()
    client = make_client(api_key_hashes=f"operator:alice:{digest}")

    response = client.post("/v1/alerts/a-1/ack", headers={"X-API-Key": "alice-secret"})

    assert response.status_code == 200
    assert response.json()["acknowledgement"]["operator"] == "alice"


def test_burst_over_the_rate_limit_is_429_with_retry_after(make_client: MakeClient) -> None:
    client = make_client(client_burst=2, client_rate_per_s=0.01)

    statuses = [client.post("/v1/chat", json=CHAT, headers=AS_CLIENT).status_code for _ in range(3)]
    refused = client.post("/v1/chat", json=CHAT, headers=AS_CLIENT)

    assert statuses == [200, 200, 429]
    assert is_problem(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert 'carepulse_gateway_rate_limited_total{role="client"} 2.0' in client.get("/metrics").text


def test_rate_limit_is_per_key(make_client: MakeClient) -> None:
    client = make_client(client_burst=1, client_rate_per_s=0.01)
    client.post("/v1/chat", json=CHAT, headers=AS_CLIENT)

    assert client.get("/v1/alerts", headers=AS_OPERATOR).status_code == 200


def test_acknowledging_spends_one_token_of_the_operator_key(make_client: MakeClient) -> None:
    client = make_client(operator_burst=1, operator_rate_per_s=0.01)

    assert client.post("/v1/alerts/a-1/ack", headers=AS_OPERATOR).status_code == 200
