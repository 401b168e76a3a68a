"""A latency bucket on a service's /metrics links to the trace of an RPC that fell in it."""

import socket

import grpc
import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from servicekit.grpc.server import GrpcServer
from servicekit.metrics import serve_metrics

METHOD = "/test.Exemplars/Echo"


def _echo(request: bytes, _context: grpc.ServicerContext) -> bytes:
    return request


def _register(server: grpc.Server) -> None:
    handler = grpc.unary_unary_rpc_method_handler(_echo)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("test.Exemplars", {"Echo": handler})]
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _scrape(port: int, accept: str | None) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.get(f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=5)


def test_openmetrics_scrape_shows_the_server_span_trace_id_on_the_rpc_latency_bucket(
    exported_spans: InMemorySpanExporter,
) -> None:
    server = GrpcServer(
        address="127.0.0.1:0", max_workers=2, service_names=[], registrations=[_register]
    )
    server.start()
    metrics_port = _free_port()
    endpoint = serve_metrics("127.0.0.1", metrics_port)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        channel.unary_unary(METHOD)(b"ping", timeout=5)
        openmetrics = _scrape(metrics_port, "application/openmetrics-text; version=1.0.0")
        prometheus_text = _scrape(metrics_port, None)
    finally:
        channel.close()
        endpoint.close()
        server.stop(grace_s=1)

    [server_span] = [
        span
        for span in exported_spans.get_finished_spans()
        if span.kind == SpanKind.SERVER and span.name == METHOD
    ]
    assert server_span.context is not None
    trace_id = format(server_span.context.trace_id, "032x")
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert any(f'# {{trace_id="{trace_id}"}}' in line for line in _latency_buckets(openmetrics))
    # Without OpenMetrics in Accept: the Prometheus text format, which has no exemplars.
    assert prometheus_text.headers["content-type"].startswith("text/plain")
    assert _latency_buckets(prometheus_text)
    assert trace_id not in prometheus_text.text


def _latency_buckets(scrape: httpx.Response) -> list[str]:
    return [
        line
        for line in scrape.text.splitlines()
        if line.startswith("carepulse_grpc_server_handling_seconds_bucket{")
        and f'method="{METHOD}"' in line
    ]
