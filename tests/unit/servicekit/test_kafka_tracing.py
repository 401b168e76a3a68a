"""Producer spans through the real kafka-python instrumentation, without a broker: a client
that knows its API version needs none to start, and each send fails on the missing metadata
after the send span did its work."""

from collections.abc import Iterator

import pytest
from carepulse.v1 import events_pb2
from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError
from opentelemetry.instrumentation.kafka import KafkaInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from servicekit.kafka import headers as hdr
from servicekit.kafka.consumer import InboundRecord
from servicekit.kafka.producer import DeliveryFailed, EventProducer
from servicekit.kafka.tracing import instrument_kafka_client
from servicekit.pseudonym import KEY_VARIABLE, Pseudonymizer
from servicekit.settings import KafkaSettings

PSEUDONYM_KEY = "unit-test-pseudonym-key"
NO_BROKER = "127.0.0.1:1"  # nothing listens on port 1


@pytest.fixture
def instrumented(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(KEY_VARIABLE, PSEUDONYM_KEY)
    instrumentor = KafkaInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()  # by another test, with another pseudonym key
    instrument_kafka_client()
    yield
    KafkaInstrumentor().uninstrument()


@pytest.fixture
def client() -> Iterator[KafkaProducer]:
    producer = KafkaProducer(bootstrap_servers=NO_BROKER, api_version=(3, 0), max_block_ms=50)
    yield producer
    producer.close(timeout=1)


def _send(client: KafkaProducer, key: bytes, value: bytes, headers: hdr.RecordHeaders) -> None:
    with pytest.raises(KafkaTimeoutError):  # no metadata for the topic: no broker
        client.send("messages.raw", value=value, key=key, headers=headers)


def _only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    return span


def _ids(span: ReadableSpan) -> tuple[int, int]:
    context = span.get_span_context()
    assert context is not None
    return context.trace_id, context.span_id


def _headers(message_id: str) -> hdr.RecordHeaders:
    return hdr.event_headers(events_pb2.CustomerMessage(message_id=message_id), message_id)


def _traceparent(trace_id: int, span_id: int) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-01"


@pytest.mark.usefixtures("instrumented")
def test_send_span_carries_the_message_id_and_the_keys_pseudonym_never_the_raw_key(
    client: KafkaProducer, exported_spans: InMemorySpanExporter
) -> None:
    _send(client, b"conversation-42", b"value-bytes", _headers("m-1"))

    span = _only_span(exported_spans)
    assert (span.name, span.kind) == ("messages.raw send", SpanKind.PRODUCER)
    attributes = dict(span.attributes or {})
    assert attributes["messaging.system"] == "kafka"
    assert attributes["messaging.destination.name"] == "messages.raw"
    assert attributes["messaging.operation.type"] == "send"
    assert attributes["messaging.message.id"] == "m-1"
    pseudonym = Pseudonymizer(PSEUDONYM_KEY.encode())("conversation-42")
    assert attributes["messaging.kafka.message.key"] == pseudonym
    for value in attributes.values():
        assert "conversation-42" not in str(value) and "value-bytes" not in str(value)


@pytest.mark.usefixtures("instrumented")
def test_sent_headers_carry_one_traceparent_the_send_spans(
    client: KafkaProducer, exported_spans: InMemorySpanExporter
) -> None:
    headers = _headers("m-2")
    _send(client, b"c", b"v", headers)

    (traceparent,) = [value.decode() for key, value in headers if key == "traceparent"]
    _version, trace_id, span_id, _flags = traceparent.split("-")
    assert (int(trace_id, 16), int(span_id, 16)) == _ids(_only_span(exported_spans))


@pytest.mark.usefixtures("instrumented")
def test_a_record_sent_again_keeps_one_traceparent(
    client: KafkaProducer, exported_spans: InMemorySpanExporter
) -> None:
    received = [*_headers("m-3"), ("traceparent", _traceparent(7, 8).encode())]
    headers = hdr.without_trace_context(received)
    _send(client, b"c", b"v", headers)

    assert [key for key, _ in headers].count("traceparent") == 1


def test_instrumenting_twice_traces_each_send_once(
    instrumented: None, client: KafkaProducer, exported_spans: InMemorySpanExporter
) -> None:
    instrument_kafka_client()
    headers = _headers("m-4")
    _send(client, b"c", b"v", headers)

    assert len(exported_spans.get_finished_spans()) == 1
    assert [key for key, _ in headers].count("traceparent") == 1


@pytest.mark.usefixtures("instrumented")
def test_a_send_while_continuing_a_records_trace_is_a_child_of_its_producer_span(
    client: KafkaProducer, exported_spans: InMemorySpanExporter
) -> None:
    inbound = InboundRecord(
        value=events_pb2.CustomerMessage(),
        key="c",
        topic="messages.raw",
        partition=0,
        offset=5,
        headers={"traceparent": _traceparent(0xABC, 0xDEF)},
    )
    with inbound.continue_trace():
        _send(client, b"c", b"v", _headers("m-5"))

    span = _only_span(exported_spans)
    assert span.parent is not None
    assert (span.parent.trace_id, span.parent.span_id) == (0xABC, 0xDEF)
    assert _ids(span)[0] == 0xABC


def test_a_send_the_client_cannot_make_counts_a_produce_error() -> None:
    producer = EventProducer(KafkaSettings(bootstrap_servers=NO_BROKER), client_id="unit-test")
    labels = {"topic": "messages.classified"}
    before = REGISTRY.get_sample_value("carepulse_kafka_produce_errors_total", labels) or 0.0
    try:
        future = producer.publish(
            "messages.classified",
            key="c",
            message=events_pb2.ClassifiedMessage(),
            message_id="m-6",
        )
        with pytest.raises(DeliveryFailed):
            future.result(timeout=30)
    finally:
        producer.close(timeout_s=1)

    assert REGISTRY.get_sample_value("carepulse_kafka_produce_errors_total", labels) == before + 1
