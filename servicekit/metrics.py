"""The Prometheus /metrics endpoint of a service process."""

from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from opentelemetry import trace
from prometheus_client import start_http_server


@dataclass
class MetricsEndpoint:
    server: WSGIServer | None

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def serve_metrics(host: str, port: int) -> MetricsEndpoint:
    """Serve the default registry on http://host:port/metrics; port 0 serves nothing."""
    if port == 0:
        return MetricsEndpoint(None)
    server, _thread = start_http_server(port, addr=host)
    return MetricsEndpoint(server)


def trace_exemplar() -> dict[str, str] | None:
    """The current sampled trace as an exemplar for a histogram observation, so a latency
    bucket in Grafana links to a trace that was actually exported; None outside a span."""
    context = trace.get_current_span().get_span_context()
    if not (context.is_valid and context.trace_flags.sampled):
        return None
    return {"trace_id": format(context.trace_id, "032x")}
