import httpx
import pytest

from local.stack import Stack
from servicekit.kafka.topics import MESSAGES_RAW
from tests.integration.topic_reader import read_until

pytestmark = pytest.mark.integration


def test_chat_returns_classification_and_suggestions(client_api: httpx.Client, unique: str) -> None:
    reply = client_api.post(
        "/v1/chat",
        json={
            "conversation_id": f"conv-{unique}",
            "customer_id": f"cust-{unique}",
            "text": "My card payment was declined at the supermarket, why?",
        },
    )

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["message_id"]
    assert body["sentiment"] in {"negative", "neutral", "positive"}
    assert body["intent"]
    assert 0 < body["confidences"]["intent"] <= 1
    assert 0 < body["confidences"]["sentiment"] <= 1
    assert body["suggestions"], "a known banking question gets at least one suggestion"
    assert all(s["article_id"] and s["title"] and s["reasons"] for s in body["suggestions"])


def test_chat_explain_returns_token_attributions(client_api: httpx.Client, unique: str) -> None:
    reply = client_api.post(
        "/v1/chat",
        json={
            "conversation_id": f"conv-{unique}",
            "customer_id": f"cust-{unique}",
            "text": "I lost my card yesterday",
            "explain": True,
        },
    )

    assert reply.status_code == 200, reply.text
    tokens = [pair[0] for pair in reply.json()["explanation"]["intent"]]
    assert "card" in tokens


def test_pii_is_redacted_before_it_reaches_kafka(
    client_api: httpx.Client, stack: Stack, unique: str
) -> None:
    reply = client_api.post(
        "/v1/chat",
        json={
            "conversation_id": f"conv-{unique}",
            "customer_id": f"cust-{unique}",
            "text": f"Refund to jane.{unique}@example.com or card 4111 1111 1111 1111 please",
        },
    )
    assert reply.status_code == 200, reply.text

    records = read_until(
        stack.broker.bootstrap_servers,
        MESSAGES_RAW,
        lambda rs: any(unique.encode() in (r.key or b"") for r in rs),
    )
    (raw,) = [r.value or b"" for r in records if unique.encode() in (r.key or b"")]
    assert f"jane.{unique}@example.com".encode() not in raw
    assert b"4111" not in raw
    assert b"[EMAIL]" in raw and b"[CARD]" in raw
