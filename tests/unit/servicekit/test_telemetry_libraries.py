"""The client libraries' spans: httpx and SQLAlchemy keep secrets and customer data out."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text

from servicekit.database import create_database_engine
from servicekit.telemetry.libraries import instrument_libraries

MARKED = "customer-7f3a-marked"


class _NoContent(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads spans, not access logs."""


@pytest.fixture
def receiver() -> Iterator[str]:
    """A local webhook receiver; yields its origin."""
    server = HTTPServer(("127.0.0.1", 0), _NoContent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def instrumented() -> Iterator[None]:
    """instrument_libraries(), and httpx back as it was afterwards."""
    httpx_instrumentor = HTTPXClientInstrumentor()
    already = httpx_instrumentor.is_instrumented_by_opentelemetry
    instrument_libraries()
    yield
    if not already:
        httpx_instrumentor.uninstrument()


def test_an_http_client_span_keeps_only_the_origin_of_a_webhook_url(
    exported_spans: InMemorySpanExporter, instrumented: None, receiver: str
) -> None:
    with httpx.Client() as client:
        response = client.post(f"{receiver}/services/T0/B0/{MARKED}?token={MARKED}", json={})

    [span] = [s for s in exported_spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert response.status_code == 204
    assert span.attributes is not None
    assert span.attributes["http.url"] == receiver
    assert span.attributes["http.status_code"] == 204
    assert MARKED not in str(dict(span.attributes))


def test_a_statement_span_records_the_sql_without_its_bound_values(
    exported_spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    engine = create_database_engine(None, tmp_path / "votes.db")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE votes (customer_id TEXT, article_id TEXT)"))
        connection.execute(
            text("INSERT INTO votes VALUES (:customer_id, 'a-1')"), {"customer_id": MARKED}
        )
    engine.dispose()

    statements = {
        span.attributes["db.statement"]
        for span in exported_spans.get_finished_spans()
        if span.attributes is not None and "db.statement" in span.attributes
    }
    assert "INSERT INTO votes VALUES (?, 'a-1')" in statements
    recorded = [str(dict(s.attributes or {})) for s in exported_spans.get_finished_spans()]
    assert not any(MARKED in attributes for attributes in recorded)
