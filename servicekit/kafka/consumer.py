"""A consumer loop that loses nothing.

Offsets are committed only after every record published for a batch is acknowledged
(at-least-once); undecodable or persistently failing records go to `<topic>.dlq` with the
reason in headers, so a poison record never blocks its partition. Consumers downstream are
idempotent by message id, which makes redelivery harmless.
"""

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka import Message as KafkaMessage
from google.protobuf.message import DecodeError, Message
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind
from prometheus_client import Counter, Histogram

from servicekit.backoff import Backoff
from servicekit.failures import describe_failure
from servicekit.kafka import headers as hdr
from servicekit.kafka.producer import DeliveryFailed, EventProducer
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
        self._settings = settings
        self._topic = topic
        self._message_type = message_type
        self._processor = processor
        self._producer = producer
        self._stopping = threading.Event()
        self._outage_backoff = Backoff(settings.retry_backoff_s, settings.outage_backoff_max_s)
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "group.id": group_id,
                "logger": logging.getLogger("librdkafka"),  # JSON logs, not raw stderr
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                # A killed member's partitions move on within seconds, not the 45 s default.
                "session.timeout.ms": 10_000,
                "heartbeat.interval.ms": 2_000,
            }
        )

    @property
    def topic(self) -> str:
        return self._topic

    def run(self) -> None:
        """Consume until stop(); the batch in flight is finished and committed first."""
        self._consumer.subscribe([self._topic])
        try:
            while not self._stopping.is_set():
                batch = self._consumer.consume(
                    num_messages=self._settings.max_batch, timeout=self._settings.poll_timeout_s
                )
                records = [record for record in batch if not self._is_error(record)]
                if records:
                    with BATCH_SECONDS.labels(self._topic).time():
                        self._handle(records)
        finally:
            self._consumer.close()  # leaves the group now rather than at session timeout

    def stop(self) -> None:
        self._stopping.set()

    def _handle(self, records: list[KafkaMessage]) -> None:
        decoded: list[InboundRecord[T]] = []
        published: list[Future[None]] = []
        for record in records:
            try:
                decoded.append(self._decode(record))
            except DecodeError as error:
                reason = f"cannot decode {self._message_type.DESCRIPTOR.full_name}: {error}"
                published.append(self._dead_letter(record, reason, attempts=1))
        links = [Link(trace.get_current_span(r.trace_context).get_span_context()) for r in decoded]
        with tracer.start_as_current_span(
            f"{self._topic} process",
            kind=SpanKind.CONSUMER,
            links=links,  # links, not parents: one batch serves many producers' traces
            attributes={
                "messaging.system": "kafka",
                "messaging.source.name": self._topic,
                "messaging.batch.message_count": len(records),
            },
        ):
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
        self._consumer.commit(offsets=self._next_offsets(records), asynchronous=False)
        RECORDS_CONSUMED.labels(self._topic).inc(len(records))

    def _decode(self, record: KafkaMessage) -> InboundRecord[T]:
        raw = record.value()
        if not raw:
            raise DecodeError("record has no value")
        value = self._message_type.FromString(raw)
        return InboundRecord(
            value=value,
            key=(record.key() or b"").decode("utf-8", errors="replace"),
            topic=record.topic() or self._topic,
            partition=record.partition() or 0,
            offset=record.offset() or 0,
            headers=hdr.headers_as_dict(record.headers()),
        )

    def _process_with_retries(
        self, decoded: list[InboundRecord[T]], records: list[KafkaMessage]
    ) -> list["Future[None]"]:
        if not decoded:
            return []
        published, error = self._attempt(decoded)
        if error is None:
            return published
        # The batch keeps failing: isolate the records so only the bad ones are dead-lettered.
        published = []
        by_offset = {(r.partition(), r.offset()): r for r in records}
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

    def _dead_letter(self, record: KafkaMessage, reason: str, attempts: int) -> "Future[None]":
        DEAD_LETTERS.labels(self._topic).inc()
        log.error(
            "dead-lettering record",
            extra={
                "topic": self._topic,
                "partition": record.partition(),
                "offset": record.offset(),
                "reason": reason,
            },
        )
        headers = [(k, v or b"") for k, v in record.headers() or ()] + [
            (hdr.DLQ_ERROR, reason.encode()),
            (hdr.DLQ_SOURCE_TOPIC, self._topic.encode()),
            (hdr.DLQ_SOURCE_PARTITION, str(record.partition()).encode()),
            (hdr.DLQ_SOURCE_OFFSET, str(record.offset()).encode()),
            (hdr.DLQ_ATTEMPTS, str(attempts).encode()),
        ]
        return self._producer.publish_raw(
            dead_letter_topic(self._topic), record.key(), record.value(), headers
        )

    def _rewind(self, records: list[KafkaMessage], delay_s: float) -> None:
        first: dict[tuple[str, int], int] = {}
        for record in records:
            key = (record.topic() or self._topic, record.partition() or 0)
            first[key] = min(first.get(key, record.offset() or 0), record.offset() or 0)
        for (topic, partition), offset in first.items():
            self._consumer.seek(TopicPartition(topic, partition, offset))
        self._stopping.wait(delay_s)  # a shutdown does not wait out a long outage backoff

    @staticmethod
    def _next_offsets(records: list[KafkaMessage]) -> list[TopicPartition]:
        last: dict[tuple[str, int], int] = {}
        for record in records:
            key = (record.topic() or "", record.partition() or 0)
            last[key] = max(last.get(key, -1), record.offset() or 0)
        return [TopicPartition(t, p, offset + 1) for (t, p), offset in last.items()]

    @staticmethod
    def _is_error(record: KafkaMessage) -> bool:
        error = record.error()
        if error is None:
            return False
        if error.fatal():
            raise KafkaException(error)
        log.warning("consumer error", extra={"error": error.str()})
        return True
