"""Reading what is on Kafka now, as an observer: no consumer group, nothing committed."""

import time
from collections.abc import Iterable, Mapping

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord


def read_to_end(
    bootstrap_servers: str,
    topics: Iterable[str] | None = None,
    start: Mapping[TopicPartition, int] | None = None,
    timeout_s: float = 60,
) -> list[ConsumerRecord]:
    """Every record of `topics` (default: all but the broker's internal ones), from `start`
    (default: each partition's beginning) to the end offsets seen when reading began.

    Partitions are assigned, not subscribed, so reading joins no group and commits nothing.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    try:
        names = sorted(topics) if topics is not None else sorted(consumer.topics())
        partitions = [
            TopicPartition(topic, partition)
            for topic in names
            if not topic.startswith("__")
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        for partition in partitions:
            consumer.seek(partition, (start or {}).get(partition, 0))
        end = consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{', '.join(names)} not read to the end within {timeout_s}s")
            for batch in consumer.poll(timeout_ms=500, max_records=5000).values():
                records += batch
        return records
    finally:
        consumer.close(autocommit=False)


def end_offsets(bootstrap_servers: str, topic: str) -> dict[TopicPartition, int]:
    """Where each partition of `topic` ends now: a `start` for reading only what comes next."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return dict(consumer.end_offsets(partitions))
    finally:
        consumer.close(autocommit=False)
