"""Record headers: what every CarePulse record carries, and trace context in and out of them."""

from collections.abc import Mapping, Sequence

from google.protobuf.message import Message
from opentelemetry import propagate
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
    """Schema and id headers plus the current W3C trace context (traceparent, tracestate)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    headers = [
        (CONTENT_TYPE, PROTOBUF_CONTENT_TYPE.encode()),
        (MESSAGE_TYPE, message.DESCRIPTOR.full_name.encode()),
        (MESSAGE_ID, message_id.encode()),
    ]
    return headers + [(key, value.encode()) for key, value in carrier.items()]


def headers_as_dict(headers: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """Last value wins, as HTTP does; undecodable bytes are replaced rather than fatal."""
    return {key: (value or b"").decode("utf-8", errors="replace") for key, value in headers or ()}


def extract_context(headers: Mapping[str, str]) -> Context:
    return propagate.extract(dict(headers))
