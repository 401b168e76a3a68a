"""Bad input is always a 4xx problem a person can act on; failing upstreams are 5xx problems."""

from collections.abc import Iterator

import grpc
from fastapi.testclient import TestClient

from tests.unit.gateway.api_testing import AS_CLIENT, MakeClient, is_problem
from tests.unit.gateway.fake_upstreams import Failure, FakeUpstreams

CHAT = {"conversation_id": "c-1", "customer_id": "u-1", "text": "Where is my refund?"}


def test_wrong_types_are_422_naming_each_field(client: TestClient) -> None:
    response = client.post(
        "/v1/chat", json={**CHAT, "text": 42, "explain": "maybe"}, headers=AS_CLIENT
    )

    assert is_problem(response, 422)
    assert {e["field"] for e in response.json()["errors"]} == {"text", "explain"}


def test_explain_that_is_not_a_json_boolean_is_422(client: TestClient) -> None:
    for explain in (0, 1, "true"):
        response = client.post("/v1/chat", json={**CHAT, "explain": explain}, headers=AS_CLIENT)

        assert is_problem(response, 422)
        assert response.json()["errors"][0]["field"] == "explain"


def test_missing_fields_are_422_saying_required(client: TestClient) -> None:
    response = client.post("/v1/chat", json={"text": "hi"}, headers=AS_CLIENT)

    assert is_problem(response, 422)
    assert response.json()["errors"] == [
        {"field": "conversation_id", "message": "required"},
        {"field": "customer_id", "message": "required"},
    ]


def test_unknown_field_is_422(client: TestClient) -> None:
    response = client.post("/v1/chat", json={**CHAT, "explian": True}, headers=AS_CLIENT)

    assert is_problem(response, 422)
    assert response.json()["errors"][0]["field"] == "explian"


def test_ids_and_channels_ingest_would_refuse_are_422_before_any_call(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    for body in ({**CHAT, "channel": "carrier-pigeon"}, {**CHAT, "customer_id": "u" * 129}):
        chat = client.post("/v1/chat", json=body, headers=AS_CLIENT)
        batch = client.post("/v1/messages", json={"messages": [body]}, headers=AS_CLIENT)

        assert is_problem(chat, 422)
        assert is_problem(batch, 422)
    assert not fakes.ingest.requests


def test_sent_at_as_a_number_is_422_before_any_call(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    message = {**CHAT, "sent_at": 0}

    response = client.post("/v1/messages", json={"messages": [message]}, headers=AS_CLIENT)

    assert is_problem(response, 422)
    assert response.json()["errors"][0]["field"] == "messages[0].sent_at"
    assert not fakes.ingest.requests


def test_invalid_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/chat",
        content=b'{"text": "hi",',
        headers={**AS_CLIENT, "Content-Type": "application/json"},
    )

    assert is_problem(response, 400)
    assert "not valid JSON" in response.json()["detail"]


def test_body_that_is_not_an_object_is_422(client: TestClient) -> None:
    response = client.post("/v1/chat", json=["hi"], headers=AS_CLIENT)

    assert is_problem(response, 422)


def test_nested_error_names_the_item(client: TestClient) -> None:
    batch = {"messages": [CHAT, {**CHAT, "sent_at": "2024-05-01T10:00:00"}]}

    response = client.post("/v1/messages", json=batch, headers=AS_CLIENT)

    assert is_problem(response, 422)
    assert response.json()["errors"][0]["field"] == "messages[1].sent_at"


def test_batch_over_the_limit_is_422(make_client: MakeClient, fakes: FakeUpstreams) -> None:
    client = make_client(max_batch_messages=3)

    response = client.post("/v1/messages", json={"messages": [CHAT] * 4}, headers=AS_CLIENT)

    assert is_problem(response, 422)
    assert response.json()["errors"][0]["field"] == "messages"
    assert fakes.ingest.requests == []


def test_body_over_the_size_limit_is_413(make_client: MakeClient) -> None:
    client = make_client(max_body_bytes=2048)

    response = client.post("/v1/chat", json={**CHAT, "text": "x" * 4096}, headers=AS_CLIENT)

    assert is_problem(response, 413)


def test_chunked_body_over_the_size_limit_is_413(make_client: MakeClient) -> None:
    client = make_client(max_body_bytes=2048)

    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"x" * 512

    response = client.post(
        "/v1/chat", content=chunks(), headers={**AS_CLIENT, "Content-Type": "application/json"}
    )

    assert is_problem(response, 413)


def test_invalid_argument_from_a_service_is_400_with_its_detail(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    fakes.ingest.failure = Failure(grpc.StatusCode.INVALID_ARGUMENT, "text: empty after redaction")

    response = client.post("/v1/chat", json=CHAT, headers=AS_CLIENT)

    assert is_problem(response, 400)
    assert response.json()["detail"] == "text: empty after redaction"


def test_unreachable_service_is_503_with_retry_after(
    make_client: MakeClient, dead_address: str
) -> None:
    client = make_client(ingest_address=dead_address)

    response = client.post("/v1/chat", json=CHAT, headers=AS_CLIENT)

    assert is_problem(response, 503)
    assert int(response.headers["retry-after"]) >= 1


def test_slow_service_is_504_with_retry_after(
    make_client: MakeClient, fakes: FakeUpstreams
) -> None:
    client = make_client(classify_deadline_s=0.05)
    fakes.classify.delay_s = 0.5

    response = client.post("/v1/chat", json=CHAT, headers=AS_CLIENT)

    assert is_problem(response, 504)
    assert "retry-after" in response.headers


def test_crashing_service_is_502_without_its_internals(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    fakes.classify.crash = True

    response = client.post("/v1/chat", json=CHAT, headers=AS_CLIENT)

    assert is_problem(response, 502)
    assert "secret" not in response.text


def test_unknown_path_is_404_problem(client: TestClient) -> None:
    assert is_problem(client.get("/v1/nothing-here"), 404)


def test_wrong_method_is_405_problem(client: TestClient) -> None:
    assert is_problem(client.get("/v1/chat", headers=AS_CLIENT), 405)
