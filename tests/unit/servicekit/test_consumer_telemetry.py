"""The consumer loop's span, dead-letter trace and lag series, around a scripted client."""

from collections.abc import Callable, Sequence
from concurrent.futures import Future

import pytest
from carepulse.v1 import events_pb2
from kafka import TopicPartition
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind
from prometheus_client import REGISTRY

from servicekit.kafka import consumer as consumer_module
from servicekit.kafka import headers as hdr
from servicekit.kafka.consumer import ConsumerLoop, InboundRecord
from servicekit.kafka.producer import EventProducer
from servicekit.settings import KafkaSettings
from tests.unit.servicekit.kafka_fakes import FakeConsumer, Poll, consumer_record

TOPIC = "messages.raw"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
SETTINGS = KafkaSettings(bootstrap_servers="127.0.0.1:1", retry_backoff_s=0)


class _RecordingProducer(EventProducer):
    """Never connects: keeps each record the loop sends, with the span current at the send."""

    def __init__(self) -> None:
        super().__init__(SETTINGS, client_id="unit-test")
        self.sent: list[tuple[str, hdr.RecordHeaders, SpanContext]] = []

    def publish_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: hdr.RecordHeaders
    ) -> "Future[None]":
        self.sent.append((topic, headers, trace.get_current_span().get_span_context()))
        future: Future[None] = Future()
        future.set_result(None)
        return future


class _Processor:
    def __init__(self, during: Callable[[], None] = lambda: None) -> None:
        self._during = during

    def process(
        self, records: Sequence[InboundRecord[events_pb2.CustomerMessage]]
    ) -> list["Future[None]"]:
        self._during()
        return []


def _run(
    monkeypatch: pytest.MonkeyPatch,
    polls: list[Poll],
    *,
    group: str,
    processor: _Processor | None = None,
    producer: EventProducer | None = None,
) -> FakeConsumer:
    client = FakeConsumer(polls)
    monkeypatch.setattr(consumer_module, "KafkaConsumer", lambda **_config: client)
    loop = ConsumerLoop(
        settings=SETTINGS,
        group_id=group,
        topic=TOPIC,
        message_type=events_pb2.CustomerMessage,
        processor=processor or _Processor(),
        producer=producer or _RecordingProducer(),
    )
    client.when_done = loop.stop
    loop.run()
    return client


def _message(message_id: str) -> bytes:
    return events_pb2.CustomerMessage(message_id=message_id, text="hi").SerializeToString()


def _headers(message_id: str, trace_id: int | None = None, span_id: int = 0) -> hdr.RecordHeaders:
    headers = [(hdr.MESSAGE_ID, message_id.encode())]
    if trace_id is not None:
        headers.append(("traceparent", f"00-{trace_id:032x}-{span_id:016x}-01".encode()))
    return headers


def _lag(group: str, partition: int) -> float | None:
    labels = {"group": group, "topic": TOPIC, "partition": str(partition)}
    return REGISTRY.get_sample_value("carepulse_kafka_consumer_lag", labels)


def test_batch_span_follows_messaging_conventions_and_links_each_record_to_its_producer(
    monkeypatch: pytest.MonkeyPatch, exported_spans: InMemorySpanExporter
) -> None:
    records = [
        consumer_record(TOPIC, 0, 3, _message("m-1"), _headers("m-1", 0xA1, 0xB1)),
        consumer_record(TOPIC, 1, 9, _message("m-2"), _headers("m-2", 0xA2, 0xB2)),
        consumer_record(TOPIC, 1, 10, _message("m-3"), _headers("m-3")),  # sent untraced
    ]
    _run(monkeypatch, [Poll(records, {P0, P1})], group="span-group")

    (span,) = [s for s in exported_spans.get_finished_spans() if s.name == f"{TOPIC} process"]
    assert span.kind == SpanKind.CONSUMER
    assert span.parent is None  # a batch is the child of none of its producers
    assert dict(span.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.destination.name": TOPIC,
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.consumer.group.name": "span-group",
        "messaging.batch.message_count": 3,
    }
    links = {
        (link.context.trace_id, link.context.span_id): dict(link.attributes or {})
        for link in span.links
    }
    assert links == {
        (0xA1, 0xB1): {
            "messaging.destination.partition.id": "0",
            "messaging.kafka.offset": 3,
            "messaging.message.id": "m-1",
        },
        (0xA2, 0xB2): {
            "messaging.destination.partition.id": "1",
            "messaging.kafka.offset": 9,
            "messaging.message.id": "m-2",
        },
    }


def test_dead_letter_is_sent_in_its_records_trace_and_drops_the_old_trace_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    undecodable = consumer_record(TOPIC, 0, 4, None, _headers("m-4", 0xC1, 0xD1))
    producer = _RecordingProducer()
    _run(monkeypatch, [Poll([undecodable], {P0})], group="dlq-group", producer=producer)

    ((topic, headers, current),) = producer.sent
    assert topic == f"{TOPIC}.dlq"
    names = [name for name, _ in headers]
    assert "traceparent" not in names  # the send injects the one it makes
    assert hdr.MESSAGE_ID in names and hdr.DLQ_ERROR in names
    assert (current.trace_id, current.span_id) == (0xC1, 0xD1)


def test_lag_is_reported_per_assigned_partition_while_consuming_and_removed_on_leaving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[int, float | None] = {}

    def read_lag() -> None:
        seen.update({0: _lag("lag-group", 0), 1: _lag("lag-group", 1)})

    poll = Poll(
        [consumer_record(TOPIC, 0, 3, _message("m-5"), _headers("m-5"))],
        assignment={P0, P1},
        highwater={P0: 10, P1: 5},
        position={P0: 4, P1: 5},
    )
    client = _run(monkeypatch, [poll], group="lag-group", processor=_Processor(read_lag))

    assert seen == {0: 6.0, 1: 0.0}
    assert client.closed
    assert _lag("lag-group", 0) is None and _lag("lag-group", 1) is None


def test_the_dead_letter_series_of_a_topic_exists_at_zero_before_its_first_dead_letter() -> None:
    # increase() over a series born at its first event misses that event, and the alert with it.
    ConsumerLoop(
        settings=SETTINGS,
        group_id="unit-zero",
        topic="topic.without.dead.letters",
        message_type=events_pb2.CustomerMessage,
        processor=_Processor(),
        producer=_RecordingProducer(),
    )

    labels = {"topic": "topic.without.dead.letters"}
    assert REGISTRY.get_sample_value("carepulse_kafka_dead_letters_total", labels) == 0.0
