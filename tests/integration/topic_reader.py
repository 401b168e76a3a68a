"""Reads a topic from the beginning with a throw-away consumer group, as a test observer."""

import time
import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, Message


def read_until(
    bootstrap: str,
    topic: str,
    done: Callable[[list[Message]], bool],
    timeout_s: float = 120,
) -> list[Message]:
    """All records read when `done(records)` first holds; raises TimeoutError otherwise."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-observer-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    records: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for record in consumer.consume(num_messages=500, timeout=0.5):
                if record.error() is None:
                    records.append(record)
            if done(records):
                return records
        raise TimeoutError(f"{topic}: condition not met after {timeout_s}s ({len(records)} read)")
    finally:
        consumer.close()


def header(record: Message, name: str) -> str | None:
    for key, value in record.headers() or ():
        if key == name:
            return (value or b"").decode()
    return None
