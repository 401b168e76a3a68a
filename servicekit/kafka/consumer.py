"""A consumer loop that loses nothing.

Offsets are committed only after every record published for a batch is acknowledged
(at-least-once); undecodable or persistently failing records go to `<topic>.dlq` with the
reason in headers, so a poison record never blocks its partition. Consumers downstream are
idempotent by message id, which makes redelivery harmless.

Rebalances: when partitions are revoked the loop commits what it finished for them and drops
what it did not, so their next owner resumes exactly at the first unfinished record; newly
assigned partitions resume from their committed offsets.

Tracing: one "<topic> process" CONSUMER span per batch, our own code. The kafka-python
instrumentation traces KafkaConsumer.__next__, one record at a time, and this loop polls
batches, which bypasses it. A batch serves many producers' traces, so its span is the child of
none and links to each record's producer span instead (messaging semantic conventions for
batch processing), with the record's partition, offset and message id on the link.
"""

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from google.protobuf.message import DecodeError, Message
from kafka import AsyncConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord as KafkaRecord
from kafka.errors import CommitFailedError, KafkaError, RebalanceInProgressError
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.semconv._incubating.attributes.messaging_attributes import (
    MESSAGING_BATCH_MESSAGE_COUNT,
    MESSAGING_CONSUMER_GROUP_NAME,
    MESSAGING_DESTINATION_NAME,
    MESSAGING_DESTINATION_PARTITION_ID,
    MESSAGING_KAFKA_OFFSET,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
    MessagingOperationTypeValues,
    MessagingSystemValues,
)
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util.types import AttributeValue
from prometheus_client import Counter, Histogram

from servicekit.backoff import Backoff
from servicekit.failures import describe_failure
from servicekit.kafka import headers as hdr
from servicekit.kafka.lag import ConsumerLag
from servicekit.kafka.producer import DeliveryFailed, EventProducer, quiet_client_logs
from servicekit.kafka.topics import dead_letter_topic
from servicekit.settings import KafkaSettings

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

RECORDS_CONSUMED = Counter(
    "carepulse_kafka_records_consumed_total", "Records processed and committed.", ["topic"]
)
DEAD_LETTERS = Counter(
    "carepulse_kafka_dead_letters_total", "Records sent to a dead-letter topic.", ["topic"]
)
BATCH_SECONDS = Histogram(
    "carepulse_kafka_batch_seconds", "Time to process and commit one batch.", ["topic"]
)

T = TypeVar("T", bound=Message)

# Creating a client waits this long for the broker. kafka-python (3.0.12) leaves a failed
# client's IO thread behind, so the waits are long enough to keep those few.
_BOOTSTRAP_TIMEOUT_MS = 10_000


class TransientFailure(Exception):
    """The processor's infrastructure (a database, say) is down, not the record.

    Such a batch is never dead-lettered: it is rewound and retried until the outage ends.
    """


@dataclass(frozen=True)
class InboundRecord(Generic[T]):
    value: T
    key: str
    topic: str
    partition: int
    offset: int
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def message_id(self) -> str:
        return self.headers.get(hdr.MESSAGE_ID, "")

    @property
    def trace_context(self) -> Context:
        return hdr.extract_context(self.headers)

    def continue_trace(self) -> AbstractContextManager[None]:
        """While open, what is published belongs to this record's trace, not the batch's: wrap
        the publishing of this record's outputs in it, so a message is one trace end to end."""
        return hdr.continuing_trace(self.headers)

    def producer_link(self) -> Link | None:
        """A link to the span that produced this record; None when it came without one."""
        producer = trace.get_current_span(self.trace_context).get_span_context()
        if not producer.is_valid:
            return None
        attributes: dict[str, AttributeValue] = {
            MESSAGING_DESTINATION_PARTITION_ID: str(self.partition),
            MESSAGING_KAFKA_OFFSET: self.offset,
        }
        if self.message_id:
            attributes[MESSAGING_MESSAGE_ID] = self.message_id
        return Link(producer, attributes)


class BatchProcessor(Protocol[T]):
    def process(self, records: Sequence[InboundRecord[T]]) -> list["Future[None]"]:
        """Do the work for these records; return the futures of everything published for it."""
        ...


class ConsumerLoop(Generic[T]):
    def __init__(
        self,
        *,
        settings: KafkaSettings,
        group_id: str,
        topic: str,
        message_type: type[T],
        processor: BatchProcessor[T],
        producer: EventProducer,
    ) -> None:
        quiet_client_logs()
        self._settings = settings
        self._topic = topic
        self._message_type = message_type
        self._processor = processor
        self._producer = producer
        self._stopping = threading.Event()
        self._outage_backoff = Backoff(settings.retry_backoff_s, settings.outage_backoff_max_s)
        # Next offsets of records whose outputs are acknowledged but not yet committed: only a
        # commit that failed leaves any here, for the next commit or the revocation to retry.
        self._finished: dict[TopicPartition, int] = {}
        self._finished_lock = threading.Lock()
        self._group_id = group_id
        self._lag = ConsumerLag(group_id, topic)
        # A series that appears at its first event is already 1: increase() and the alerts on
        # it would miss that event. It exists at 0 from the start instead.
        DEAD_LETTERS.labels(topic)
        self._consumer: KafkaConsumer = None  # connected by run(): see _connect()

    @property
    def topic(self) -> str:
        return self._topic

    def run(self) -> None:
        """Consume until stop(); the batch in flight is finished and committed first."""
        if not self._connect():
            return
        self._consumer.subscribe([self._topic], listener=_CommitFinishedOnRevoke(self))
        try:
            while not self._stopping.is_set():
                batches = self._consumer.poll(
                    timeout_ms=int(self._settings.poll_timeout_s * 1000),
                    max_records=self._settings.max_batch,
                )
                self._lag.update(self._consumer)
                records = [record for batch in batches.values() for record in batch]
                if records:
                    with BATCH_SECONDS.labels(self._topic).time():
                        self._handle(records)
        finally:
            # Leaves the group now rather than at session timeout; the revocation this
            # triggers commits whatever is finished and still uncommitted.
            self._consumer.close(autocommit=False)
            self._lag.clear()

    def _connect(self) -> bool:
        """Create the client, waiting for the broker as long as it takes; False on stop()."""
        backoff = Backoff(self._settings.retry_backoff_s, self._settings.outage_backoff_max_s)
        while not self._stopping.is_set():
            try:
                self._consumer = KafkaConsumer(
                    bootstrap_servers=self._settings.bootstrap_servers,
                    group_id=self._group_id,
                    client_id=f"{self._group_id}-{self._topic}",
                    enable_auto_commit=False,
                    auto_offset_reset="earliest",
                    allow_auto_create_topics=False,
                    max_poll_records=self._settings.max_batch,
                    # A killed member's partitions move on within seconds, not the 45 s default.
                    session_timeout_ms=10_000,
                    heartbeat_interval_ms=2_000,
                    max_poll_interval_ms=int(self._settings.max_poll_interval_s * 1000),
                    bootstrap_timeout_ms=_BOOTSTRAP_TIMEOUT_MS,
                )
                return True
            except KafkaError as error:
                delay_s = backoff.next_delay_s()
                log.warning(
                    "broker unreachable; connecting again",
                    extra={"topic": self._topic, "error": str(error), "retry_in_s": delay_s},
                )
                self._stopping.wait(delay_s)
        return False

    def stop(self) -> None:
        self._stopping.set()

    def _handle(self, records: list[KafkaRecord]) -> None:
        decoded: list[InboundRecord[T]] = []
        published: list[Future[None]] = []
        for record in records:
            try:
                decoded.append(self._decode(record))
            except DecodeError as error:
                reason = f"cannot decode {self._message_type.DESCRIPTOR.full_name}: {error}"
                published.append(self._dead_letter(record, reason, attempts=1))
        with self._process_span(len(records), decoded):
            try:
                published += self._process_with_retries(decoded, records)
            except TransientFailure as failure:
                delay_s = self._outage_backoff.next_delay_s()
                # No traceback: the chained driver error would print the statement's data.
                log.warning(
                    "transient failure; the batch will be retried",
                    extra={"topic": self._topic, "error": str(failure), "retry_in_s": delay_s},
                )
                self._rewind(records, delay_s)
                return
            self._outage_backoff.reset()
            try:
                self._producer.wait_delivered(published)
            except DeliveryFailed:
                log.exception("outputs not acknowledged; the batch will be redelivered")
                self._rewind(records, self._settings.retry_backoff_s)
                return
        with self._finished_lock:
            for partition, offset in self._next_offsets(records).items():
                self._finished[partition] = max(offset, self._finished.get(partition, 0))
        self._commit_finished()
        RECORDS_CONSUMED.labels(self._topic).inc(len(records))

    def _process_span(
        self, message_count: int, decoded: list[InboundRecord[T]]
    ) -> AbstractContextManager[Span]:
        links = [link for record in decoded if (link := record.producer_link()) is not None]
        return tracer.start_as_current_span(
            f"{self._topic} process",
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                MESSAGING_SYSTEM: MessagingSystemValues.KAFKA.value,
                MESSAGING_DESTINATION_NAME: self._topic,
                MESSAGING_OPERATION_TYPE: MessagingOperationTypeValues.PROCESS.value,
                MESSAGING_OPERATION_NAME: "process",
                MESSAGING_CONSUMER_GROUP_NAME: self._group_id,
                MESSAGING_BATCH_MESSAGE_COUNT: message_count,
            },
        )

    def _commit_finished(self) -> None:
        with self._finished_lock:
            offsets = {tp: OffsetAndMetadata(offset) for tp, offset in self._finished.items()}
        try:
            self._consumer.commit(offsets)
        except (CommitFailedError, RebalanceInProgressError) as error:
            # The group rebalanced under this batch (this member stalled past its poll
            # interval and was dropped, say). The next poll rejoins: a revocation commits the
            # finished offsets if this member still may; if its partitions were lost, their
            # new owners redeliver from the last commit.
            log.warning(
                "commit refused in a rebalance; the batch may be redelivered",
                extra={"topic": self._topic, "error": type(error).__name__},
            )
            return
        with self._finished_lock:
            for tp, committed in offsets.items():
                if self._finished.get(tp) == committed.offset:
                    del self._finished[tp]

    async def _on_revoked(self, partitions: set[TopicPartition]) -> None:
        """Commit what is finished on these partitions; their next owner starts after it."""
        with self._finished_lock:
            offsets = {
                tp: OffsetAndMetadata(self._finished.pop(tp))
                for tp in partitions
                if tp in self._finished
            }
        if offsets:
            try:
                await self._consumer.commit_async(offsets)
            except KafkaError as error:
                log.warning(
                    "commit on revocation failed; those records will be redelivered",
                    extra={"topic": self._topic, "error": describe_failure(error)},
                )
        log.info(
            "partitions revoked",
            extra={"topic": self._topic, "partitions": sorted(tp.partition for tp in partitions)},
        )

    def _on_lost(self, partitions: set[TopicPartition]) -> None:
        """This member was evicted: nothing of these partitions may be committed any more."""
        with self._finished_lock:
            for tp in partitions:
                self._finished.pop(tp, None)
        log.warning(
            "partitions lost; their uncommitted records will be redelivered",
            extra={"topic": self._topic, "partitions": sorted(tp.partition for tp in partitions)},
        )

    def _decode(self, record: KafkaRecord) -> InboundRecord[T]:
        raw = record.value
        if not raw:
            raise DecodeError("record has no value")
        value = self._message_type.FromString(raw)
        return InboundRecord(
            value=value,
            key=(record.key or b"").decode("utf-8", errors="replace"),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            headers=hdr.headers_as_dict(record.headers),
        )

    def _process_with_retries(
        self, decoded: list[InboundRecord[T]], records: list[KafkaRecord]
    ) -> list["Future[None]"]:
        if not decoded:
            return []
        published, error = self._attempt(decoded)
        if error is None:
            return published
        # The batch keeps failing: isolate the records so only the bad ones are dead-lettered.
        published = []
        by_offset = {(r.partition, r.offset): r for r in records}
        for record in decoded:
            outputs, error = self._attempt([record])
            published += outputs
            if error is not None:
                raw = by_offset[(record.partition, record.offset)]
                reason = describe_failure(error)
                published.append(self._dead_letter(raw, reason, self._settings.max_attempts))
        return published

    def _attempt(
        self, records: list[InboundRecord[T]]
    ) -> tuple[list["Future[None]"], Exception | None]:
        """Run the processor up to max_attempts times: its outputs, or the last try's error."""
        last_error: Exception | None = None
        for attempt in range(1, self._settings.max_attempts + 1):
            try:
                return self._processor.process(records), None
            except TransientFailure:
                raise
            except Exception as error:  # any failure is retried, then dead-lettered
                last_error = error
                log.warning(
                    "processing failed",
                    extra={
                        "topic": self._topic,
                        "attempt": attempt,
                        "error": describe_failure(error),
                    },
                )
                time.sleep(self._settings.retry_backoff_s * attempt)
        return [], last_error

    def _dead_letter(self, record: KafkaRecord, reason: str, attempts: int) -> "Future[None]":
        DEAD_LETTERS.labels(self._topic).inc()
        log.error(
            "dead-lettering record",
            extra={
                "topic": self._topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
            },
        )
        original = [(k, v or b"") for k, v in record.headers or ()]
        headers = [
            *hdr.without_trace_context(original),
            (hdr.DLQ_ERROR, reason.encode()),
            (hdr.DLQ_SOURCE_TOPIC, self._topic.encode()),
            (hdr.DLQ_SOURCE_PARTITION, str(record.partition).encode()),
            (hdr.DLQ_SOURCE_OFFSET, str(record.offset).encode()),
            (hdr.DLQ_ATTEMPTS, str(attempts).encode()),
        ]
        # Sent in the record's own trace: its dead letter is the next step of that message.
        with hdr.continuing_trace(hdr.headers_as_dict(original)):
            return self._producer.publish_raw(
                dead_letter_topic(self._topic), record.key, record.value, headers
            )

    def _rewind(self, records: list[KafkaRecord], delay_s: float) -> None:
        first: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            first[tp] = min(first.get(tp, record.offset), record.offset)
        assigned = self._consumer.assignment()
        for tp, offset in first.items():
            # A partition revoked meanwhile resumes at its committed offset with its new owner.
            if tp in assigned:
                self._consumer.seek(tp, offset)
        self._stopping.wait(delay_s)  # a shutdown does not wait out a long outage backoff

    @staticmethod
    def _next_offsets(records: list[KafkaRecord]) -> dict[TopicPartition, int]:
        last: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            last[tp] = max(last.get(tp, -1), record.offset)
        return {tp: offset + 1 for tp, offset in last.items()}


class _CommitFinishedOnRevoke(AsyncConsumerRebalanceListener):  # type: ignore[misc]
    """Runs on the client's IO thread while the loop's thread waits in poll() or close()."""

    def __init__(self, loop: "ConsumerLoop[Any]") -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._loop._on_revoked(revoked)

    async def on_partitions_lost(self, lost: set[TopicPartition]) -> None:
        self._loop._on_lost(lost)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # Nothing to seek: a partition without a position starts at its committed offset
        # (auto_offset_reset="earliest" when the group never committed one).
        log.info(
            "partitions assigned",
            extra={
                "topic": self._loop.topic,
                "partitions": sorted(tp.partition for tp in assigned),
            },
        )
