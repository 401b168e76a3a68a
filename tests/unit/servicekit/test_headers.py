from carepulse.v1 import events_pb2
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from servicekit.kafka import headers


def test_event_headers_carry_schema_id_and_current_trace_context() -> None:
    message = events_pb2.CustomerMessage(message_id="m-1")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("publish") as span:
        produced = headers.headers_as_dict(headers.event_headers(message, "m-1"))

    assert produced[headers.CONTENT_TYPE] == "application/x-protobuf"
    assert produced[headers.MESSAGE_TYPE] == "carepulse.v1.CustomerMessage"
    assert produced[headers.MESSAGE_ID] == "m-1"
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert trace_id in produced["traceparent"]


def test_extracted_context_is_the_producers_span() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("publish") as span:
        produced = headers.headers_as_dict(
            headers.event_headers(events_pb2.CustomerMessage(), "m-2")
        )

    extracted = trace.get_current_span(headers.extract_context(produced)).get_span_context()
    assert extracted.trace_id == span.get_span_context().trace_id
    assert extracted.span_id == span.get_span_context().span_id


def test_undecodable_header_bytes_do_not_raise() -> None:
    assert headers.headers_as_dict([("x", b"\xff"), ("y", None)]) == {"x": "\ufffd", "y": ""}
