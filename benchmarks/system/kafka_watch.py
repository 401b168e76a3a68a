"""What the pipeline benchmark reads from Kafka: arrivals on messages.classified, consumer lag.

`ClassifiedWatcher` is a real consumer on its own thread, assigned every partition of
messages.classified from the offsets where the run began (no group: it commits nothing and
takes no partition from the services). It records when each message id first arrived;
redeliveries repeat an id and are counted apart. `downstream_lag` asks the broker how far each
consumer group of the topic (alert's, recommend's) has committed.
"""

import threading
import time
from collections.abc import Collection, Mapping

from carepulse.v1 import events_pb2
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from reliability.kafka_snapshot import end_offsets
from servicekit.kafka.topics import MESSAGES_CLASSIFIED


class ClassifiedWatcher:
    def __init__(self, bootstrap_servers: str, since: Mapping[TopicPartition, int]) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._since = dict(since)
        self._first_seen: dict[str, float] = {}
        self._records = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="classified-watcher", daemon=True)

    def __enter__(self) -> "ClassifiedWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    @property
    def records(self) -> int:
        """Records read, redeliveries included."""
        with self._lock:
            return self._records

    def arrivals(self, ids: Collection[str]) -> list[float]:
        """When each of `ids` first arrived (time.monotonic()), sorted; unseen ones left out."""
        with self._lock:
            return sorted(self._first_seen[i] for i in ids if i in self._first_seen)

    def wait_for(self, ids: Collection[str], timeout_s: float) -> bool:
        """Whether every id arrived within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while len(self.arrivals(ids)) < len(ids):
            if time.monotonic() > deadline or not self._thread.is_alive():
                return False
            time.sleep(0.2)
        return True

    def _run(self) -> None:
        consumer = KafkaConsumer(
            bootstrap_servers=self._bootstrap_servers, group_id=None, enable_auto_commit=False
        )
        try:
            consumer.assign(list(self._since))
            for partition, offset in self._since.items():
                consumer.seek(partition, offset)
            while not self._stop.is_set():
                for batch in consumer.poll(timeout_ms=200, max_records=5000).values():
                    now = time.monotonic()
                    ids = [_message_id(record.value) for record in batch]
                    with self._lock:
                        self._records += len(ids)
                        for message_id in ids:
                            self._first_seen.setdefault(message_id, now)
        finally:
            consumer.close(autocommit=False)


def downstream_lag(bootstrap_servers: str) -> dict[str, int]:
    """Records of messages.classified each consumer group has not committed yet, by group."""
    end = end_offsets(bootstrap_servers, MESSAGES_CLASSIFIED)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        groups = [group["group_id"] for group in admin.list_groups()]
        committed = admin.list_group_offsets({group: None for group in groups}) if groups else {}
    finally:
        admin.close()
    lag: dict[str, int] = {}
    for group, offsets in committed.items():
        mine = {tp: meta.offset for tp, meta in offsets.items() if tp.topic == MESSAGES_CLASSIFIED}
        if mine:
            lag[group] = sum(max(0, end[tp] - mine.get(tp, 0)) for tp in end)
    return lag


def _message_id(value: bytes | None) -> str:
    return str(events_pb2.ClassifiedMessage.FromString(value or b"").message.message_id)
