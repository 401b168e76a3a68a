"""At-least-once delivery end to end, against the real broker and services."""

import httpx
import pytest
from carepulse.v1 import events_pb2
from kafka import KafkaProducer

from local.stack import Stack
from servicekit.kafka import headers
from servicekit.kafka.topics import MESSAGES_CLASSIFIED, MESSAGES_RAW, dead_letter_topic
from tests.integration.topic_reader import Record, header, read_until

pytestmark = pytest.mark.integration

TEXTS = [
    "How do I activate my new card?",
    "The exchange rate you charged me is wrong",
    "Why is my transfer still pending after three days?",
    "I want to close my account",
    "Thanks, the refund arrived!",
]


def _ingest(client: httpx.Client, unique: str, start: int, count: int) -> list[str]:
    batch = [
        {
            "conversation_id": f"conv-{unique}-{i % 50}",
            "customer_id": f"cust-{unique}-{i % 50}",
            "text": f"{TEXTS[i % len(TEXTS)]} (ref {unique}-{i})",
            "channel": "app",
            "external_id": f"{unique}-{i}",
        }
        for i in range(start, start + count)
    ]
    reply = client.post("/v1/messages", json={"messages": batch})
    assert reply.status_code == 202, reply.text
    ids: list[str] = reply.json()["ids"]
    return ids


def _classified_ids(records: list[Record]) -> set[str]:
    return {events_pb2.ClassifiedMessage.FromString(r.value).message.message_id for r in records}


def test_thousand_messages_are_each_classified_exactly_once_after_dedup(
    client_api: httpx.Client, stack: Stack, unique: str
) -> None:
    sent = [i for start in range(0, 1000, 250) for i in _ingest(client_api, unique, start, 250)]
    # A client retrying a batch must not create new messages.
    retried = _ingest(client_api, unique, 0, 250)

    assert len(set(sent)) == 1000
    assert retried == sent[:250]
    records = read_until(
        stack.broker.bootstrap_servers,
        MESSAGES_CLASSIFIED,
        lambda rs: set(sent) <= _classified_ids(rs),
        timeout_s=300,
    )
    mine = [r for r in records if unique.encode() in (r.key or b"")]
    assert _classified_ids(mine) == set(sent)
    assert all(header(r, headers.MESSAGE_ID) for r in mine)
    assert all(header(r, "traceparent") for r in mine)


def test_classify_killed_mid_stream_loses_no_message(
    client_api: httpx.Client, stack: Stack, unique: str
) -> None:
    sent = _ingest(client_api, unique, 0, 200)
    stack.kill("classify")
    sent += _ingest(client_api, unique, 200, 200)  # published while classify is down
    stack.restart("classify")
    sent += _ingest(client_api, unique, 400, 100)

    read_until(
        stack.broker.bootstrap_servers,
        MESSAGES_CLASSIFIED,
        lambda rs: set(sent) <= _classified_ids(rs),
        timeout_s=300,
    )


def test_malformed_record_lands_on_dead_letter_topic_with_its_error(
    stack: Stack, unique: str
) -> None:
    producer = KafkaProducer(bootstrap_servers=stack.broker.bootstrap_servers)
    key = f"poison-{unique}".encode()
    # Wire type 7 does not exist in protobuf: no parser can read this.
    producer.send(MESSAGES_RAW, key=key, value=b"\xff\xff\xff\xff\x0f").get(timeout=10)
    producer.close()

    records = read_until(
        stack.broker.bootstrap_servers,
        dead_letter_topic(MESSAGES_RAW),
        lambda rs: any(r.key == key for r in rs),
    )
    (dead,) = [r for r in records if r.key == key]
    assert dead.value == b"\xff\xff\xff\xff\x0f"
    assert "cannot decode carepulse.v1.CustomerMessage" in (header(dead, headers.DLQ_ERROR) or "")
    assert header(dead, headers.DLQ_SOURCE_TOPIC) == MESSAGES_RAW
    assert header(dead, headers.DLQ_SOURCE_OFFSET) is not None
