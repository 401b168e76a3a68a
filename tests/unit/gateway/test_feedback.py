"""POST /v1/feedback: accepted only on a suggestion served to that message's customer."""

import grpc
from fastapi.testclient import TestClient

from tests.unit.gateway.api_testing import AS_CLIENT, is_problem
from tests.unit.gateway.fake_upstreams import Failure, FakeUpstreams

FEEDBACK = {"message_id": "m-1", "customer_id": "u-1", "article_id": "kb-7", "helpful": False}


def test_feedback_on_a_served_suggestion_is_published(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    fakes.recommend.served["m-1"] = ("u-1", {"kb-7"})

    response = client.post("/v1/feedback", json=FEEDBACK, headers=AS_CLIENT)

    assert response.status_code == 202
    assert [r.message_id for r in fakes.ingest.requests] == ["m-1"]


def test_feedback_on_an_unknown_message_is_404_and_not_published(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    response = client.post("/v1/feedback", json=FEEDBACK, headers=AS_CLIENT)

    assert is_problem(response, 404)
    assert response.json()["type"] == "urn:carepulse:problem:unknown-message"
    assert fakes.ingest.requests == []


def test_feedback_naming_another_customer_is_404_like_an_unknown_message(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    fakes.recommend.served["m-1"] = ("u-2", {"kb-7"})

    response = client.post("/v1/feedback", json=FEEDBACK, headers=AS_CLIENT)

    assert is_problem(response, 404)
    assert response.json()["type"] == "urn:carepulse:problem:unknown-message"
    assert fakes.ingest.requests == []


def test_feedback_on_an_article_not_suggested_is_409_and_not_published(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    fakes.recommend.served["m-1"] = ("u-1", {"kb-1"})

    response = client.post("/v1/feedback", json=FEEDBACK, headers=AS_CLIENT)

    assert is_problem(response, 409)
    assert response.json()["type"] == "urn:carepulse:problem:article-not-suggested"
    assert fakes.ingest.requests == []


def test_feedback_when_recommend_is_unavailable_is_503_and_not_published(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    fakes.recommend.served["m-1"] = ("u-1", {"kb-7"})
    fakes.recommend.failure = Failure(grpc.StatusCode.UNAVAILABLE, "down")

    response = client.post("/v1/feedback", json=FEEDBACK, headers=AS_CLIENT)

    assert is_problem(response, 503)
    assert fakes.ingest.requests == []


def test_feedback_after_a_chat_on_its_suggestion_is_accepted(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    chat = {"conversation_id": "c-1", "customer_id": "u-1", "text": "Still no refund"}
    reply = client.post("/v1/chat", json=chat, headers=AS_CLIENT)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    article_id = body["suggestions"][0]["article_id"]

    response = client.post(
        "/v1/feedback",
        json={**FEEDBACK, "message_id": body["message_id"], "article_id": article_id},
        headers=AS_CLIENT,
    )

    assert response.status_code == 202, response.text


def test_helpful_that_is_not_a_json_boolean_is_422_and_not_published(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    fakes.recommend.served["m-1"] = ("u-1", {"kb-7"})

    for helpful in (0, 1, "true", None):
        response = client.post(
            "/v1/feedback", json={**FEEDBACK, "helpful": helpful}, headers=AS_CLIENT
        )

        assert is_problem(response, 422)
    assert not fakes.ingest.requests
