"""Builds the gateway's FastAPI app from its settings and upstream services."""

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from starlette.middleware.cors import CORSMiddleware

from gateway.alert_streams import AlertStreams
from gateway.auth import Authenticator
from gateway.body_limit import BodySizeLimit
from gateway.console.router import console_router
from gateway.error_handlers import install_error_handlers
from gateway.framing import AmbiguousFramingGuard
from gateway.keyring import KeyRing, Role
from gateway.metrics import GatewayMetrics, RequestMetrics
from gateway.problems import document_problem_media_type
from gateway.rate_limit import RateLimit, RateLimiter
from gateway.route_budgets import RouteBudget, RouteBudgets, size_thread_pool
from gateway.routes.alerts import alerts_router
from gateway.routes.chat import chat_router
from gateway.routes.feedback import feedback_router
from gateway.routes.health import health_router
from gateway.routes.messages import messages_router
from gateway.routes.metrics import metrics_router
from gateway.settings import GatewaySettings
from gateway.upstreams import Upstreams

_DESCRIPTION = """\
The public API of CarePulse. Authenticate with `X-API-Key: <key>` or
`Authorization: Bearer <key>`: **client** keys use chat, messages and feedback,
**operator** keys use alerts. Every error is `application/problem+json` (RFC 9457).
"""


def create_app(settings: GatewaySettings, upstreams: Upstreams) -> FastAPI:
    """The caller keeps ownership of `upstreams`: it closes them after the app has stopped."""
    metrics = GatewayMetrics()
    limiter = RateLimiter(
        {
            Role.CLIENT: RateLimit(settings.client_rate_per_s, settings.client_burst),
            Role.OPERATOR: RateLimit(settings.operator_rate_per_s, settings.operator_burst),
        }
    )
    auth = Authenticator(KeyRing(settings.api_keys()), limiter, metrics)
    streams = AlertStreams(
        upstreams.alert_stream_channel,
        metrics,
        heartbeat_s=settings.sse_heartbeat_s,
        lifetime_s=settings.alert_stream_lifetime_s,
        attach_timeout_s=settings.alert_deadline_s,
        max_streams=settings.max_alert_streams,
        max_streams_per_key=settings.max_alert_streams_per_key,
    )

    budgets = [
        RouteBudget("chat", ("/v1/chat",), settings.max_concurrent_chat),
        RouteBudget("messages", ("/v1/messages",), settings.max_concurrent_messages),
        RouteBudget("feedback", ("/v1/feedback",), settings.max_concurrent_feedback),
        RouteBudget("alerts", ("/v1/alerts",), settings.max_concurrent_alerts),
        RouteBudget("operations", ("/",), settings.max_concurrent_operations),
    ]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        size_thread_pool(sum(budget.limit for budget in budgets))
        yield
        streams.close_all()

    app = FastAPI(
        title="CarePulse gateway",
        version="1",
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        return document_problem_media_type(generate_openapi())

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend it
    app.state.alert_streams = streams
    app.state.shutting_down = threading.Event()
    install_error_handlers(app)

    app.include_router(chat_router(upstreams, settings, auth))
    app.include_router(messages_router(upstreams, settings, auth))
    app.include_router(feedback_router(upstreams, settings, auth))
    app.include_router(alerts_router(upstreams, settings, auth, streams))
    app.include_router(health_router(upstreams, settings, app.state.shutting_down.is_set))
    app.include_router(metrics_router(metrics))
    app.include_router(console_router(settings))

    # Added innermost first: the metrics middleware sees every answer, the 413 included.
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type", "Last-Event-ID"],
            expose_headers=["Retry-After"],
        )
    # SSE streams, liveness and the console's files are async and hold no thread; streams
    # have their own bounds.
    app.add_middleware(
        RouteBudgets, budgets=budgets, exempt=("/v1/alerts/stream", "/healthz", "/console")
    )
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s
    )
    app.add_middleware(AmbiguousFramingGuard)
    app.add_middleware(RequestMetrics, metrics=metrics)
    # A server span per request; its context reaches the services through the gRPC
    # client interceptor of each channel. Probes, scrapes and the console's static files
    # would only be noise.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics,/console")
    return app


def begin_shutdown(app: FastAPI) -> None:
    """End the app's long-lived responses, so a graceful shutdown isn't held open by them.

    Safe to call from a signal handler or another thread.
    """
    app.state.shutting_down.set()  # readiness fails first, so load balancers move on
    streams: AlertStreams = app.state.alert_streams
    streams.close_all()
