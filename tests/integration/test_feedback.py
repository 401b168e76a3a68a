"""Feedback is accepted only on suggestions served, from the customer they were served to.

The gateway answers 404/409 for anything else; records on the `feedback` topic that did not
come through it are checked again by recommend's consumer and refused.
"""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from carepulse.v1 import events_pb2
from prometheus_client.parser import text_string_to_metric_families

from local.stack import Stack
from servicekit.kafka.producer import EventProducer
from servicekit.kafka.topics import FEEDBACK
from servicekit.settings import KafkaSettings
from servicekit.timestamps import to_timestamp

pytestmark = pytest.mark.integration

DECLINED = "My card payment was declined at the supermarket, why?"
LOST = "I lost my card yesterday and need to block it"


def chat(client_api: httpx.Client, customer_id: str, text: str) -> dict[str, Any]:
    reply = client_api.post(
        "/v1/chat",
        json={"conversation_id": f"conv-{customer_id}", "customer_id": customer_id, "text": text},
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    assert body["suggestions"], "a banking question gets suggestions"
    return body


def suggested(body: dict[str, Any]) -> list[str]:
    return [s["article_id"] for s in body["suggestions"]]


def feedback(
    client_api: httpx.Client, message_id: str, customer_id: str, article_id: str, helpful: bool
) -> httpx.Response:
    return client_api.post(
        "/v1/feedback",
        json={
            "message_id": message_id,
            "customer_id": customer_id,
            "article_id": article_id,
            "helpful": helpful,
        },
    )


def test_not_helpful_on_a_served_suggestion_is_accepted_and_hides_it_from_that_customer(
    client_api: httpx.Client, unique: str
) -> None:
    customer = f"cust-{unique}"
    first = chat(client_api, customer, DECLINED)
    article = suggested(first)[0]

    response = feedback(client_api, first["message_id"], customer, article, helpful=False)

    assert response.status_code == 202, response.text
    assert response.json()["feedback_id"]
    _eventually(lambda: article not in suggested(chat(client_api, customer, DECLINED)))
    assert article in suggested(chat(client_api, f"other-{unique}", DECLINED))


def test_feedback_on_an_article_not_suggested_for_the_message_is_409(
    client_api: httpx.Client, unique: str
) -> None:
    customer = f"cust-{unique}"
    declined = chat(client_api, customer, DECLINED)
    lost = chat(client_api, customer, LOST)
    (elsewhere, *_) = [a for a in suggested(lost) if a not in suggested(declined)]

    response = feedback(client_api, declined["message_id"], customer, elsewhere, helpful=False)

    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:carepulse:problem:article-not-suggested"
    time.sleep(2)  # nothing was published: the customer still gets the article
    assert elsewhere in suggested(chat(client_api, customer, LOST))


def test_feedback_on_another_customers_message_or_an_unknown_one_is_404(
    client_api: httpx.Client, second_client_api: httpx.Client, unique: str
) -> None:
    victim = f"cust-{unique}"
    served = chat(client_api, victim, DECLINED)
    article = suggested(served)[0]

    as_other_customer = feedback(
        second_client_api, served["message_id"], f"mallory-{unique}", article, helpful=False
    )
    unknown_message = feedback(client_api, str(uuid.uuid4()), victim, article, helpful=False)

    for response in (as_other_customer, unknown_message):
        assert response.status_code == 404, response.text
        assert response.json()["type"] == "urn:carepulse:problem:unknown-message"
    time.sleep(2)
    assert article in suggested(chat(client_api, victim, DECLINED))


def test_feedback_records_forged_on_kafka_are_refused_by_recommend(
    client_api: httpx.Client, stack: Stack, unique: str
) -> None:
    customer = f"cust-{unique}"
    declined = chat(client_api, customer, DECLINED)
    lost = chat(client_api, customer, LOST)
    (target, *_) = [a for a in suggested(lost) if a not in suggested(declined)]
    refused_before = _feedback_outcomes(stack)

    # Not through the gateway: a "not helpful" on an article the message was never shown,
    # and one on the right article in another customer's name.
    _publish(stack, declined["message_id"], customer, target)
    _publish(stack, lost["message_id"], f"mallory-{unique}", target)

    def both_refused() -> bool:
        now = _feedback_outcomes(stack)
        return (
            now["article_not_suggested"] > refused_before["article_not_suggested"]
            and now["unknown_message"] > refused_before["unknown_message"]
        )

    _eventually(both_refused)
    assert target in suggested(chat(client_api, customer, LOST))


def _publish(stack: Stack, message_id: str, customer_id: str, article_id: str) -> None:
    producer = EventProducer(
        KafkaSettings(bootstrap_servers=stack.broker.bootstrap_servers), client_id="forger"
    )
    event = events_pb2.FeedbackEvent(
        feedback_id=str(uuid.uuid4()),
        message_id=message_id,
        customer_id=customer_id,
        article_id=article_id,
        helpful=False,
        given_at=to_timestamp(datetime.now(UTC)),
    )
    try:
        producer.publish(
            FEEDBACK, key=customer_id, message=event, message_id=event.feedback_id
        ).result(timeout=30)
    finally:
        producer.close()


def _feedback_outcomes(stack: Stack) -> dict[str, float]:
    url = f"http://127.0.0.1:{stack.ports.metrics('recommend')}/metrics"
    outcomes = dict.fromkeys(
        ("counted", "duplicate", "unknown_message", "article_not_suggested"), 0.0
    )
    for family in text_string_to_metric_families(httpx.get(url, timeout=5).text):
        if family.name == "carepulse_recommend_feedback_events":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    outcomes[sample.labels["outcome"]] = sample.value
    return outcomes


def _eventually(condition: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.5)
