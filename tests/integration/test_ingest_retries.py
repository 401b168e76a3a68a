"""Retries against the real broker and services: an accepted message is on Kafka, once, under
an id that belongs to the caller."""

import os
import signal
import time
from typing import Any

import httpx
import pytest

from local.stack import Stack
from servicekit.kafka import headers
from servicekit.kafka.topics import MESSAGES_RAW
from servicekit.settings import KafkaSettings
from tests.integration.topic_reader import Record, header, read_until

pytestmark = pytest.mark.integration


def _post_until_answered(
    client: httpx.Client, path: str, *, timeout_s: float = 120, **request: Any
) -> httpx.Response:
    """As a client does: retry after each 503/504 (with its Retry-After) until answered."""
    give_up_at = time.monotonic() + timeout_s
    while True:
        reply = client.post(path, **request)
        if reply.status_code not in (503, 504):
            return reply
        assert reply.headers["Retry-After"]
        assert time.monotonic() < give_up_at, f"{path}: still {reply.status_code}"
        time.sleep(1)


def _raw_ids_of(records: list[Record], conversation_id: str) -> list[str | None]:
    return [header(r, headers.MESSAGE_ID) for r in records if r.key == conversation_id.encode()]


def test_paused_broker_never_gets_a_message_accepted_that_is_not_on_kafka(
    client_api: httpx.Client, stack: Stack, unique: str
) -> None:
    message = {
        "conversation_id": f"conv-slow-{unique}",
        "customer_id": f"cust-{unique}",
        "text": "Where has my transfer gone?",
        "source": "crm",
        "external_id": f"slow-{unique}",
    }
    broker = stack.broker.pid
    assert broker is not None
    # Past the producer's delivery timeout, so the first publish fails while paused.
    paused_s = KafkaSettings().delivery_timeout_s + 10

    os.kill(broker, signal.SIGSTOP)
    try:
        resume_at = time.monotonic() + paused_s
        while time.monotonic() < resume_at:
            # A client retrying on every 5xx: nothing can be durable now, so nothing is 2xx.
            reply = client_api.post("/v1/messages", json={"messages": [message]})
            assert reply.status_code in (503, 504), reply.text
            assert reply.headers["Retry-After"]
            time.sleep(1)
    finally:
        os.kill(broker, signal.SIGCONT)

    reply = _post_until_answered(client_api, "/v1/messages", json={"messages": [message]})
    assert reply.status_code == 202, reply.text
    (accepted_id,) = reply.json()["ids"]

    read_until(
        stack.broker.bootstrap_servers,
        MESSAGES_RAW,
        lambda rs: accepted_id in _raw_ids_of(rs, message["conversation_id"]),
    )


def test_retried_chat_with_an_idempotency_key_is_one_message(
    client_api: httpx.Client, stack: Stack, unique: str
) -> None:
    chat = {
        "conversation_id": f"conv-chat-{unique}",
        "customer_id": f"cust-{unique}",
        "text": "My card payment was declined twice today",
    }
    retried = {"Idempotency-Key": f"chat-{unique}"}

    first = _post_until_answered(client_api, "/v1/chat", json=chat, headers=retried)
    retry = _post_until_answered(client_api, "/v1/chat", json=chat, headers=retried)
    stack.restart("ingest")  # the de-duplication window is in memory: gone now
    after_restart = _post_until_answered(client_api, "/v1/chat", json=chat, headers=retried)
    another = _post_until_answered(
        client_api, "/v1/chat", json=chat, headers={"Idempotency-Key": f"x-{unique}"}
    )

    replies = [first, retry, after_restart, another]
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    message_id = first.json()["message_id"]
    assert retry.json()["message_id"] == message_id
    assert after_restart.json()["message_id"] == message_id
    assert another.json()["message_id"] != message_id
    records = read_until(
        stack.broker.bootstrap_servers,
        MESSAGES_RAW,
        lambda rs: another.json()["message_id"] in _raw_ids_of(rs, chat["conversation_id"]),
    )
    raw_ids = _raw_ids_of(records, chat["conversation_id"])
    # Within the window the retry is not published again; after a restart it is, under the
    # same id, which every consumer de-duplicates: spike detection counts it once.
    assert set(raw_ids) == {message_id, another.json()["message_id"]}
    assert raw_ids.count(message_id) <= 2


def test_one_keys_external_id_never_shadows_another_keys_message(
    client_api: httpx.Client, second_client_api: httpx.Client, stack: Stack, unique: str
) -> None:
    def message(owner: str) -> dict[str, str]:
        return {
            "conversation_id": f"conv-{owner}-{unique}",
            "customer_id": f"cust-{owner}-{unique}",
            "text": f"A message from {owner}",
            "source": "zendesk",
            "external_id": f"ticket-{unique}",
        }

    mine = client_api.post("/v1/messages", json={"messages": [message("first")]})
    theirs = second_client_api.post("/v1/messages", json={"messages": [message("second")]})

    assert (mine.status_code, theirs.status_code) == (202, 202), theirs.text
    assert theirs.json()["duplicates"] == 0
    (my_id,), (their_id,) = mine.json()["ids"], theirs.json()["ids"]
    assert their_id != my_id
    read_until(
        stack.broker.bootstrap_servers,
        MESSAGES_RAW,
        lambda rs: their_id in _raw_ids_of(rs, f"conv-second-{unique}"),
    )
