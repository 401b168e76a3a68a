"""Prometheus metrics of the gateway: requests by route, latency, rate limiting, open streams."""

import time

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.metrics import trace_exemplar


class GatewayMetrics:
    """One registry per app, so several apps (tests) never share or clash on series."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "carepulse_gateway_requests_total",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "carepulse_gateway_request_duration_seconds",
            "Time from request to the end of the response (streams: their lifetime).",
            ["route", "method"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "carepulse_gateway_rate_limited_total",
            "Requests refused with 429 because the key's token bucket was empty.",
            ["role"],
            registry=self.registry,
        )
        self.open_alert_streams = Gauge(
            "carepulse_gateway_open_alert_streams",
            "Alert event streams (SSE) currently open.",
            registry=self.registry,
        )


class RequestMetrics:
    """Pure ASGI middleware counting every response, including those of other middleware."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # unless the app answers: an exception escaped

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_and_note_status)
        finally:
            # The route template, never the raw path: ids in paths would explode the series.
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self._metrics.requests.labels(route, method, str(status)).inc()
            # The request's server span is current: FastAPI's instrumentation wraps all middleware.
            self._metrics.latency.labels(route, method).observe(
                time.perf_counter() - start, exemplar=trace_exemplar()
            )
