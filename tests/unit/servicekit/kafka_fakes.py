"""Stand-ins for kafka-python's consumer, for the loop's telemetry tests."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord


def consumer_record(
    topic: str, partition: int, offset: int, value: bytes | None, headers: list[tuple[str, bytes]]
) -> ConsumerRecord:
    return ConsumerRecord(
        topic, partition, -1, offset, 0, 0, b"key", value, headers, None, 3, len(value or b""), -1
    )


@dataclass
class Poll:
    """One poll's outcome: the records it returns and the client's state afterwards."""

    records: Sequence[ConsumerRecord] = ()
    assignment: set[TopicPartition] = field(default_factory=set)
    highwater: dict[TopicPartition, int] = field(default_factory=dict)
    position: dict[TopicPartition, int] = field(default_factory=dict)


class FakeConsumer:
    """Replays scripted polls; once they are done it calls `when_done` (the loop's stop)."""

    def __init__(self, polls: Sequence[Poll]) -> None:
        self._polls = list(polls)
        self._state = Poll()
        self.when_done: Callable[[], None] = lambda: None
        self.closed = False

    def subscribe(self, topics: list[str], listener: Any) -> None:
        pass

    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[ConsumerRecord]]:
        if not self._polls:
            self.when_done()
            return {}
        self._state = self._polls.pop(0)
        batches: dict[TopicPartition, list[ConsumerRecord]] = {}
        for record in self._state.records:
            batches.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
        return batches

    def assignment(self) -> set[TopicPartition]:
        return set(self._state.assignment)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self._state.highwater.get(tp)

    def position(self, tp: TopicPartition, timeout_ms: int | None = None) -> int | None:
        return self._state.position.get(tp)

    def commit(self, offsets: Any) -> None:
        pass

    def close(self, autocommit: bool) -> None:
        self.closed = True
