"""Reads a topic from the beginning with a throw-away consumer group, as a test observer."""

import time
import uuid
from collections.abc import Callable

from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord as Record

__all__ = ["Record", "header", "read_until"]


def read_until(
    bootstrap: str,
    topic: str,
    done: Callable[[list[Record]], bool],
    timeout_s: float = 120,
) -> list[Record]:
    """All records read when `done(records)` first holds; raises TimeoutError otherwise."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-observer-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    records: list[Record] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500, max_records=500).values():
                records.extend(batch)
            if done(records):
                return records
        raise TimeoutError(f"{topic}: condition not met after {timeout_s}s ({len(records)} read)")
    finally:
        consumer.close(autocommit=False)


def header(record: Record, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return (value or b"").decode()
    return None
