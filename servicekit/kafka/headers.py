"""Record headers: what every CarePulse record carries, and trace context in and out of them.

The trace context (W3C traceparent, tracestate) goes in when a record is sent: the kafka-python
instrumentation injects its send span's (tracing.py), so nothing here writes it.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from google.protobuf.message import Message
from opentelemetry import context, propagate
from opentelemetry.context import Context

CONTENT_TYPE = "content-type"
MESSAGE_TYPE = "message-type"
MESSAGE_ID = "message-id"
PROTOBUF_CONTENT_TYPE = "application/x-protobuf"

# Dead-letter records keep the original headers and add these.
DLQ_ERROR = "dlq-error"
DLQ_SOURCE_TOPIC = "dlq-source-topic"
DLQ_SOURCE_PARTITION = "dlq-source-partition"
DLQ_SOURCE_OFFSET = "dlq-source-offset"
DLQ_ATTEMPTS = "dlq-attempts"

RecordHeaders = list[tuple[str, bytes]]


def event_headers(message: Message, message_id: str) -> RecordHeaders:
    """Schema and id headers; the trace context is added by the send."""
    return [
        (CONTENT_TYPE, PROTOBUF_CONTENT_TYPE.encode()),
        (MESSAGE_TYPE, message.DESCRIPTOR.full_name.encode()),
        (MESSAGE_ID, message_id.encode()),
    ]


def without_trace_context(headers: RecordHeaders) -> RecordHeaders:
    """A record's headers for sending it again (a dead letter): the send injects its own
    context, and a second traceparent would leave readers to guess which one counts."""
    fields = propagate.get_global_textmap().fields
    return [(key, value) for key, value in headers if key not in fields]


def headers_as_dict(headers: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """Last value wins, as HTTP does; undecodable bytes are replaced rather than fatal."""
    return {key: (value or b"").decode("utf-8", errors="replace") for key, value in headers or ()}


def extract_context(headers: Mapping[str, str]) -> Context:
    return propagate.extract(dict(headers))


@contextmanager
def continuing_trace(headers: Mapping[str, str]) -> Iterator[None]:
    """Makes the producer span in these headers the current parent, so what is sent meanwhile
    stays in the trace the record came with. Without trace headers, the current context stays."""
    token = context.attach(propagate.extract(dict(headers), context=context.get_current()))
    try:
        yield
    finally:
        context.detach(token)
