"""The traffic that gives every dashboard panel and every rule data: chats, a batch, a negative
burst that opens an alert and its acknowledgement, feedback, poison records, a rate-limited
key, and a broker that stops answering for a few seconds."""

import os
import signal
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from kafka import KafkaProducer

from servicekit.kafka.topics import MESSAGES_RAW
from tests.observability.backend_api import eventually, promql
from tests.observability.observed_stack import ObservedStack

# Classified negative, intent card_payment_not_recognised or near: the burst's topic.
COMPLAINT = "My card payment was declined again and nobody helps me, this is unacceptable"
BURST_SIZE = 40
# The observed stack's KAFKA_DELIVERY_TIMEOUT_S: a record unacknowledged this long has failed.
DELIVERY_TIMEOUT_S = 5


@dataclass(frozen=True)
class Traffic:
    started_s: float  # epoch seconds, before the first request
    chat: dict[str, Any]  # POST /v1/chat's answer
    alert: dict[str, Any]  # the burst's alert after its acknowledgement, as GET /v1/alerts has it


def drive_traffic(observed: ObservedStack) -> Traffic:
    started_s = time.time()
    run = uuid.uuid4().hex[:8]
    with (
        httpx.Client(
            base_url=observed.stack.gateway_url,
            headers={"X-API-Key": observed.client_key},
            timeout=60,
        ) as client,
        httpx.Client(
            base_url=observed.stack.gateway_url,
            headers={"X-API-Key": observed.operator_key},
            timeout=60,
        ) as operator,
    ):
        chat = _chat(client, run, "Where is the money I transferred yesterday?")
        _vote(client, chat, f"cust-{run}")
        alert = _negative_burst_acknowledged(client, operator, run)
        _exhaust_rate_limit(observed)
        _dead_letter_twice(observed)
        _fail_a_chat_while_the_broker_is_paused(observed, client, run)
    return Traffic(started_s, chat, alert)


def _chat(client: httpx.Client, run: str, text: str) -> dict[str, Any]:
    body = {"conversation_id": f"conv-{run}", "customer_id": f"cust-{run}", "text": text}
    reply = client.post("/v1/chat", json=body)
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def _vote(client: httpx.Client, chat: dict[str, Any], customer_id: str) -> None:
    assert chat["suggestions"], "the chat got no suggestion to vote on"
    vote = {
        "message_id": chat["message_id"],
        "customer_id": customer_id,
        "article_id": chat["suggestions"][0]["article_id"],
        "helpful": True,
    }
    reply = client.post("/v1/feedback", json=vote)
    assert reply.status_code == 202, reply.text


def _negative_burst_acknowledged(
    client: httpx.Client, operator: httpx.Client, run: str
) -> dict[str, Any]:
    probe = _chat(client, f"{run}-probe", COMPLAINT)
    assert probe["sentiment"] == "negative", probe
    topic = probe["intent"]
    burst = [
        {"conversation_id": f"conv-{run}-{i}", "customer_id": f"cust-{run}-{i}", "text": COMPLAINT}
        for i in range(BURST_SIZE)
    ]
    reply = client.post("/v1/messages", json={"messages": burst})
    assert reply.status_code == 202, reply.text

    def opened() -> dict[str, Any] | None:
        alerts = operator.get("/v1/alerts", params={"topic": topic}).json()["alerts"]
        return alerts[0] if alerts else None

    alert = eventually(opened, 90, f"an alert on {topic}")
    acked = operator.post(f"/v1/alerts/{alert['alert_id']}/ack", json={"note": "looking"})
    assert acked.status_code == 200, acked.text
    listed = operator.get("/v1/alerts", params={"topic": topic}).json()["alerts"]
    (acknowledged,) = (a for a in listed if a["alert_id"] == alert["alert_id"])
    return dict(acknowledged)


def _exhaust_rate_limit(observed: ObservedStack) -> None:
    """Requests on the probe key until one is refused with 429 (the burst allowance is 40)."""
    headers = {"X-API-Key": observed.rate_limit_probe_key}
    with httpx.Client(base_url=observed.stack.gateway_url, headers=headers, timeout=10) as probe:
        for _ in range(400):
            # Authenticated and counted before the body is read: an empty body is enough.
            if probe.post("/v1/feedback", json={}).status_code == 429:
                return
    raise AssertionError("400 requests on one key and none was rate-limited")


def _dead_letter_twice(observed: ObservedStack) -> None:
    """Two undecodable records on messages.raw, each after Prometheus saw the one before: a
    counter's first increment creates its series, and increase() needs it to rise after that."""
    producer = KafkaProducer(bootstrap_servers=observed.stack.broker.bootstrap_servers)
    try:
        for count in (1, 2):
            producer.send(MESSAGES_RAW, value=b"\xff not a CustomerMessage")
            producer.flush(timeout=30)

            def seen(count: int = count) -> bool:
                expr = f'carepulse_kafka_dead_letters_total{{topic="{MESSAGES_RAW}"}} >= {count}'
                return bool(promql(observed.prometheus, expr))

            eventually(seen, 60, f"dead letter {count} in Prometheus")
    finally:
        producer.close()


def _fail_a_chat_while_the_broker_is_paused(
    observed: ObservedStack, client: httpx.Client, run: str
) -> None:
    """The broker stops answering past the delivery timeout: ingest's record fails (a produce
    error), ingest answers UNAVAILABLE and the chat 503. Short of the consumers' 10 s session
    timeout, so the groups keep their members."""
    broker = observed.stack.broker.pid
    assert broker is not None
    body = {"conversation_id": f"conv-{run}-paused", "customer_id": f"cust-{run}", "text": "hi"}
    os.kill(broker, signal.SIGSTOP)
    try:
        paused_at = time.monotonic()
        reply = client.post("/v1/chat", json=body)
        assert reply.status_code in (503, 504), reply.text
        time.sleep(max(0.0, DELIVERY_TIMEOUT_S + 1 - (time.monotonic() - paused_at)))
    finally:
        os.kill(broker, signal.SIGCONT)

    def answered() -> bool:
        return client.post("/v1/chat", json=body).status_code == 200

    eventually(answered, 60, "a chat answered after the broker came back")
