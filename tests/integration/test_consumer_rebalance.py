"""Two consumer loops in one group on a 3-partition topic, against the real broker.

A member joining or leaving mid-stream revokes partitions from a loop with work in flight; a
member stalled past its poll interval loses its partitions while it still holds a batch.
What must hold: every record processed, none twice except the batch that lost its partitions
(redelivered, at-least-once), no loop dead, and the group's commits at the end of the topic.
"""

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import pytest
from carepulse.v1 import events_pb2
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from local.stack import Stack
from servicekit.kafka.consumer import ConsumerLoop, InboundRecord
from servicekit.kafka.producer import EventProducer
from servicekit.kafka.topics import TopicSpec, dead_letter_topic, ensure_topics
from servicekit.settings import KafkaSettings

pytestmark = pytest.mark.integration

PARTITIONS = 3
RECORDS = 1500
POLL_INTERVAL_S = 4.0
STALL_S = 9.0  # past the poll interval: the member is dropped from its group


@dataclass
class Ledger:
    """Which member processed which record, in order."""

    processed: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, member: str | None = None) -> int:
        with self.lock:
            return sum(1 for who, _ in self.processed if member in (None, who))

    def ids(self) -> list[str]:
        with self.lock:
            return [message_id for _, message_id in self.processed]


class SlowRecorder:
    """Takes a while per batch, so a rebalance finds the member busy; can stall once."""

    def __init__(self, member: str, ledger: Ledger, stall_after: int | None = None) -> None:
        self._member = member
        self._ledger = ledger
        self._stall_after = stall_after
        self.stalled_batch: list[str] = []

    def process(
        self, records: Sequence[InboundRecord[events_pb2.CustomerMessage]]
    ) -> list[Future[None]]:
        time.sleep(0.05)
        if self._stall_after is not None and self._ledger.count(self._member) >= self._stall_after:
            self._stall_after = None
            self.stalled_batch = [r.message_id for r in records]
            time.sleep(STALL_S)
        with self._ledger.lock:
            self._ledger.processed += [(self._member, r.message_id) for r in records]
        return []


class Member:
    def __init__(
        self,
        name: str,
        settings: KafkaSettings,
        group: str,
        topic: str,
        ledger: Ledger,
        stall_after: int | None = None,
    ) -> None:
        self.producer = EventProducer(settings, client_id=f"test-{name}")
        self.processor = SlowRecorder(name, ledger, stall_after)
        self.loop = ConsumerLoop(
            settings=settings,
            group_id=group,
            topic=topic,
            message_type=events_pb2.CustomerMessage,
            processor=self.processor,
            producer=self.producer,
        )
        self.thread = threading.Thread(target=self.loop.run, name=f"loop-{name}")
        self.thread.start()

    def stop(self) -> None:
        self.loop.stop()
        self.thread.join(timeout=60)
        self.producer.close()
        assert not self.thread.is_alive()


@pytest.fixture
def topic(stack: Stack, unique: str) -> str:
    name = f"test.rebalance.{unique}"
    ensure_topics(
        stack.broker.bootstrap_servers,
        [TopicSpec(name, PARTITIONS, 3_600_000), TopicSpec(dead_letter_topic(name), 1, 3_600_000)],
    )
    return name


@pytest.fixture
def settings(stack: Stack) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=stack.broker.bootstrap_servers, max_batch=20)


@pytest.fixture
def publisher(settings: KafkaSettings) -> Iterator[EventProducer]:
    producer = EventProducer(settings, client_id="test-rebalance-source")
    yield producer
    producer.close()


def _publish_steadily(
    producer: EventProducer, topic: str, ids: list[str], chunk: int = 50, pause_s: float = 0.05
) -> None:
    """The stream: `chunk` records, acknowledged, then a pause; keys over 30 conversations."""
    for start in range(0, len(ids), chunk):
        futures = [
            producer.publish(
                topic,
                key=f"conv-{i % 30}",
                message=events_pb2.CustomerMessage(message_id=ids[i], text=f"text {i}"),
                message_id=ids[i],
            )
            for i in range(start, min(start + chunk, len(ids)))
        ]
        producer.wait_delivered(futures)
        time.sleep(pause_s)


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.05)


def _committed_and_end_offsets(
    bootstrap: str, group: str, topic: str
) -> tuple[dict[int, int], dict[int, int]]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    observer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        committed = admin.list_group_offsets({group: None})[group]
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        end = observer.end_offsets(partitions)
    finally:
        admin.close()
        observer.close()
    return (
        {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == topic},
        {tp.partition: offset for tp, offset in end.items()},
    )


def test_members_joining_and_leaving_mid_stream_lose_and_repeat_no_record(
    stack: Stack, settings: KafkaSettings, publisher: EventProducer, topic: str, unique: str
) -> None:
    group = f"group-{topic}"
    ledger = Ledger()
    ids = [f"{unique}-{i}" for i in range(RECORDS)]
    source = threading.Thread(target=_publish_steadily, args=(publisher, topic, ids))
    source.start()

    first = Member("first", settings, group, topic, ledger)
    _wait_for(lambda: ledger.count("first") >= 200, "the first member under way")
    second = Member("second", settings, group, topic, ledger)  # joins mid-stream
    _wait_for(lambda: ledger.count("second") >= 100, "the second member under way")
    first.stop()  # leaves mid-stream: the second takes over every partition
    source.join(timeout=120)
    _wait_for(lambda: set(ids) <= set(ledger.ids()), "every record processed")
    time.sleep(1)  # anything processed twice would show up now
    second.stop()

    processed = ledger.ids()
    repeated = sorted({i for i in processed if processed.count(i) > 1})
    assert repeated == [], f"{len(repeated)} records processed twice, e.g. {repeated[:5]}"
    assert sorted(processed) == sorted(ids)
    assert ledger.count("first") > 200 and ledger.count("second") > 100
    committed, end = _committed_and_end_offsets(stack.broker.bootstrap_servers, group, topic)
    assert committed == end


def test_member_stalled_past_its_poll_interval_rejoins_and_only_its_batch_is_redone(
    stack: Stack, settings: KafkaSettings, publisher: EventProducer, topic: str, unique: str
) -> None:
    settings = settings.model_copy(update={"max_poll_interval_s": POLL_INTERVAL_S})
    group = f"group-{topic}"
    ledger = Ledger()
    ids = [f"{unique}-{i}" for i in range(RECORDS)]
    first_wave, second_wave = ids[:1000], ids[1000:]
    source = threading.Thread(target=_publish_steadily, args=(publisher, topic, first_wave))
    source.start()

    stalling = Member("stalling", settings, group, topic, ledger, stall_after=200)
    steady = Member("steady", settings, group, topic, ledger)
    _wait_for(lambda: bool(stalling.processor.stalled_batch), "the stall")
    # Dropped from the group, its partitions move to the steady member, which redoes the
    # stalled batch; the stalled member's commit is then refused, and it must rejoin.
    _wait_for(lambda: ledger.count("stalling") > 200, "the end of the stall", STALL_S + 30)
    source.join(timeout=120)
    at_stall_end = ledger.count("stalling")
    _publish_steadily(publisher, topic, second_wave, chunk=10, pause_s=0.1)
    _wait_for(lambda: set(ids) <= set(ledger.ids()), "every record processed")
    time.sleep(1)
    assert stalling.thread.is_alive() and steady.thread.is_alive()
    stalling.stop()
    steady.stop()

    assert ledger.count("stalling") > at_stall_end, "the stalled member never consumed again"
    processed = ledger.ids()
    repeated = {i for i in processed if processed.count(i) > 1}
    assert repeated <= set(stalling.processor.stalled_batch)
    assert set(processed) == set(ids)
    committed, end = _committed_and_end_offsets(stack.broker.bootstrap_servers, group, topic)
    assert committed == end
