from fastapi.testclient import TestClient

from tests.unit.gateway.api_testing import AS_CLIENT
from tests.unit.gateway.fake_upstreams import FakeUpstreams

CHAT = {
    "conversation_id": "c-1",
    "customer_id": "u-1",
    "text": "Refund me, alice@example.com",
}


def test_chat_answers_sentiment_intent_and_suggestions(client: TestClient) -> None:
    response = client.post("/v1/chat", json=CHAT, headers=AS_CLIENT)

    assert response.status_code == 200
    assert response.json() == {
        "message_id": "m-1",
        "sentiment": "negative",
        "intent": "billing",
        "confidences": {"sentiment": 0.875, "intent": 0.75},
        "intent_candidates": [
            {"intent": "billing", "confidence": 0.75},
            {"intent": "refund", "confidence": 0.125},
        ],
        "suggestions": [
            {
                "article_id": "kb-7",
                "title": "Refunds",
                "body": "How refunds work.",
                "score": 0.71,
                "reasons": ["semantic=0.71"],
            }
        ],
    }


def test_chat_sends_only_redacted_text_past_ingest(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    client.post("/v1/chat", json={**CHAT, "channel": "app"}, headers=AS_CLIENT)

    assert fakes.ingest.requests[0].channel == "app"
    assert fakes.classify.requests[0].text == "Refund me, [email]"
    recommended = fakes.recommend.requests[0]
    assert (recommended.message_id, recommended.customer_id) == ("m-1", "u-1")
    assert (recommended.intent, recommended.intent_confidence) == ("billing", 0.75)


def test_chat_hands_classifys_sentence_vector_to_recommend(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    client.post("/v1/chat", json=CHAT, headers=AS_CLIENT)

    vector = fakes.recommend.requests[0].sentence_vector
    assert (vector.encoder_id, vector.float16_le) == ("test-encoder", bytes.fromhex("003c0000"))


def test_chat_explains_when_asked(client: TestClient, fakes: FakeUpstreams) -> None:
    response = client.post("/v1/chat", json={**CHAT, "explain": True}, headers=AS_CLIENT)

    assert fakes.classify.requests[0].explain is True
    assert response.json()["explanation"] == {
        "sentiment": [["refund", 0.5]],
        "intent": [["invoice", 0.25]],
    }
