from carepulse.v1 import events_pb2
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from servicekit.kafka import headers

TRACEPARENT = f"00-{0xABC:032x}-{0xDEF:016x}-01"


def test_event_headers_carry_schema_and_id_and_leave_trace_context_to_the_send() -> None:
    message = events_pb2.CustomerMessage(message_id="m-1")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("caller"):
        produced = headers.headers_as_dict(headers.event_headers(message, "m-1"))

    assert produced == {
        headers.CONTENT_TYPE: "application/x-protobuf",
        headers.MESSAGE_TYPE: "carepulse.v1.CustomerMessage",
        headers.MESSAGE_ID: "m-1",
    }


def test_extracted_context_is_the_producers_span() -> None:
    extracted = headers.extract_context({"traceparent": TRACEPARENT})

    producer = trace.get_current_span(extracted).get_span_context()
    assert (producer.trace_id, producer.span_id) == (0xABC, 0xDEF)


def test_continuing_a_records_trace_makes_its_producer_span_current_until_the_end() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("batch") as batch:
        with headers.continuing_trace({"traceparent": TRACEPARENT}):
            current = trace.get_current_span().get_span_context()
        after = trace.get_current_span()

    assert (current.trace_id, current.span_id) == (0xABC, 0xDEF)
    assert after is batch


def test_continuing_a_record_without_trace_headers_keeps_the_current_span() -> None:
    tracer = TracerProvider().get_tracer("test")
    with (
        tracer.start_as_current_span("batch") as batch,
        headers.continuing_trace({headers.MESSAGE_ID: "m-2"}),
    ):
        current = trace.get_current_span()

    assert current is batch


def test_a_record_sent_again_keeps_its_headers_but_not_its_trace_context() -> None:
    received = [
        (headers.MESSAGE_ID, b"m-3"),
        ("traceparent", TRACEPARENT.encode()),
        ("tracestate", b"vendor=1"),
        ("baggage", b"k=v"),
    ]

    assert headers.without_trace_context(received) == [(headers.MESSAGE_ID, b"m-3")]


def test_undecodable_header_bytes_do_not_raise() -> None:
    assert headers.headers_as_dict([("x", b"\xff"), ("y", None)]) == {"x": "\ufffd", "y": ""}
