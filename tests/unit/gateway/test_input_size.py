"""Oversized input is refused cheaply, with a bounded answer, before anything expensive runs."""

import json

from fastapi.testclient import TestClient

from gateway.models.limits import MAX_REPORTED_ERRORS
from tests.unit.gateway.api_testing import AS_CLIENT, is_problem
from tests.unit.gateway.fake_upstreams import FakeUpstreams

MESSAGE = {"conversation_id": "c", "customer_id": "u", "text": "hi"}


def test_a_huge_batch_of_invalid_items_is_one_short_error(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    body = json.dumps({"messages": [{"x": 1}] * 50_000})  # ~0.4 MB: under the body limit
    response = client.post(
        "/v1/messages", content=body, headers={**AS_CLIENT, "content-type": "application/json"}
    )

    assert is_problem(response, 422)
    assert response.json()["errors"] == [
        {
            "field": "messages",
            "message": "List should have at most 500 items after validation, not 50000",
        }
    ]
    assert fakes.ingest.requests == []


def test_errors_listed_are_bounded_and_the_rest_counted(client: TestClient) -> None:
    response = client.post("/v1/messages", json={"messages": [{"x": 1}] * 400}, headers=AS_CLIENT)

    assert is_problem(response, 422)
    assert len(response.json()["errors"]) == MAX_REPORTED_ERRORS
    # Each item lacks three fields and has one unknown: 4 errors each.
    assert response.json()["detail"].startswith("1600 fields are missing or invalid")
    assert len(response.content) < 10_000


def test_text_longer_than_the_limit_as_sent_is_422_before_ingest(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    # U+FDFA grows to 18 characters under NFKC: the limit counts characters as sent.
    for route, body in (
        ("/v1/chat", {**MESSAGE, "text": "\ufdfa" * 4001}),
        ("/v1/messages", {"messages": [{**MESSAGE, "text": "\ufdfa" * 4001}]}),
    ):
        response = client.post(route, json=body, headers=AS_CLIENT)

        assert is_problem(response, 422), route
        assert response.json()["errors"][0]["field"].endswith("text")
    assert fakes.ingest.requests == []
