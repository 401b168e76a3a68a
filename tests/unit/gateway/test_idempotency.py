"""Idempotency-Key and the caller's identity: what the gateway tells ingest, and what it refuses."""

import pytest
from fastapi.testclient import TestClient

from gateway.keyring import sha256_hex
from tests.unit.gateway.api_testing import AS_CLIENT, CLIENT_KEY, is_problem
from tests.unit.gateway.fake_upstreams import FakeUpstreams

CHAT = {"conversation_id": "c-1", "customer_id": "u-1", "text": "Still no refund"}
BATCH = {"messages": [CHAT, CHAT]}
CLIENT_KEY_NAME = f"client-{sha256_hex(CLIENT_KEY)[:8]}"


def test_chat_tells_ingest_the_callers_key_and_its_idempotency_key(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    headers = {**AS_CLIENT, "Idempotency-Key": "9f1c2a7e-retry-me"}
    assert client.post("/v1/chat", json=CHAT, headers=headers).status_code == 200

    (request,) = fakes.ingest.requests
    assert (request.caller, request.idempotency_key) == (CLIENT_KEY_NAME, "9f1c2a7e-retry-me")


def test_batch_tells_ingest_the_callers_key_and_its_idempotency_key(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    headers = {**AS_CLIENT, "Idempotency-Key": "batch-7"}
    assert client.post("/v1/messages", json=BATCH, headers=headers).status_code == 202

    (batch,) = fakes.ingest.batches
    assert (batch.caller, batch.idempotency_key) == (CLIENT_KEY_NAME, "batch-7")
    assert all(not m.caller and not m.idempotency_key for m in batch.messages)


def test_without_the_header_ingest_gets_no_idempotency_key(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    client.post("/v1/chat", json=CHAT, headers=AS_CLIENT)
    client.post("/v1/messages", json=BATCH, headers=AS_CLIENT)

    assert fakes.ingest.requests[0].idempotency_key == ""
    assert fakes.ingest.batches[0].idempotency_key == ""
    assert fakes.ingest.batches[0].caller == CLIENT_KEY_NAME


def test_the_caller_cannot_be_named_in_the_body(client: TestClient, fakes: FakeUpstreams) -> None:
    response = client.post("/v1/chat", json={**CHAT, "caller": "client-b"}, headers=AS_CLIENT)

    assert is_problem(response, 422)
    assert fakes.ingest.requests == []


@pytest.mark.parametrize(
    "value",
    [b"", b"k" * 256, b"caf\xc3\xa9", b"tab\there", b"\x7f"],
    ids=["empty", "256 characters", "non-ASCII", "control character", "DEL"],
)
@pytest.mark.parametrize("path", ["/v1/chat", "/v1/messages"])
def test_invalid_idempotency_key_is_422_naming_the_header(
    client: TestClient, fakes: FakeUpstreams, path: str, value: bytes
) -> None:
    body = CHAT if path == "/v1/chat" else BATCH
    headers: dict[str, str | bytes] = {**AS_CLIENT, "Idempotency-Key": value}

    response = client.post(path, json=body, headers=headers)

    assert is_problem(response, 422)
    assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]
    assert fakes.ingest.requests == [] and fakes.ingest.batches == []


def test_longest_printable_ascii_key_is_accepted(client: TestClient, fakes: FakeUpstreams) -> None:
    key = "".join(chr(c) for c in range(0x21, 0x7F)) * 2 + " " + "k" * 66
    assert len(key) == 255

    response = client.post("/v1/chat", json=CHAT, headers={**AS_CLIENT, "Idempotency-Key": key})

    assert response.status_code == 200
    assert fakes.ingest.requests[0].idempotency_key == key
