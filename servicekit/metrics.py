"""The Prometheus /metrics endpoint of a service process."""

from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

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
