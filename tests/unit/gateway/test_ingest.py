"""Batches of messages and feedback: accepted (202) once ingest has published them."""

from fastapi.testclient import TestClient

from tests.unit.gateway.api_testing import AS_CLIENT
from tests.unit.gateway.fake_upstreams import FakeUpstreams

MESSAGE = {"conversation_id": "c-1", "customer_id": "u-1", "text": "Still no refund"}


def test_batch_is_accepted_with_ids_and_duplicate_count(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    batch = {
        "messages": [
            {**MESSAGE, "source": "zendesk", "external_id": "z-1"},
            {**MESSAGE, "source": "zendesk", "external_id": "z-1"},
            {**MESSAGE, "sent_at": "2024-05-01T10:00:00+02:00"},
        ]
    }

    response = client.post("/v1/messages", json=batch, headers=AS_CLIENT)

    assert response.status_code == 202
    assert response.json() == {"ids": ["b-0", "b-1", "b-2"], "duplicates": 1}
    assert fakes.ingest.requests[0].source == "zendesk"
    assert fakes.ingest.requests[2].sent_at.ToSeconds() == 1714550400


def test_empty_batch_is_422(client: TestClient) -> None:
    assert client.post("/v1/messages", json={"messages": []}, headers=AS_CLIENT).status_code == 422


def test_feedback_is_accepted_with_its_id(client: TestClient, fakes: FakeUpstreams) -> None:
    fakes.recommend.served["m-1"] = ("u-1", {"kb-7"})
    feedback = {"message_id": "m-1", "customer_id": "u-1", "article_id": "kb-7", "helpful": False}

    response = client.post("/v1/feedback", json=feedback, headers=AS_CLIENT)

    assert response.status_code == 202
    assert response.json() == {"feedback_id": "f-1"}
    assert fakes.ingest.requests[0].article_id == "kb-7"
    assert fakes.ingest.requests[0].helpful is False
