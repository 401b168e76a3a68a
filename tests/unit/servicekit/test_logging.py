import json
import logging
import sys

from opentelemetry.sdk.trace import TracerProvider

from servicekit.logging import JsonFormatter


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"msg": message, "levelname": "INFO", "name": "t"})
    record.__dict__.update(extra)
    return record


def test_log_line_is_json_with_service_and_extra_fields() -> None:
    line = JsonFormatter("ingest").format(_record("published", topic="messages.raw"))

    entry = json.loads(line)
    assert entry["service"] == "ingest"
    assert entry["msg"] == "published"
    assert entry["topic"] == "messages.raw"
    assert "trace_id" not in entry


def test_log_line_inside_a_span_carries_its_trace_and_span_ids() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        entry = json.loads(JsonFormatter("classify").format(_record("classified")))

    context = span.get_span_context()
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")


def test_exceptions_are_logged_as_a_field() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()

    entry = json.loads(JsonFormatter("alert").format(record))
    assert "ValueError: boom" in entry["exception"]
