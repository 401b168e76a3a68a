"""GET /metrics in the Prometheus text format."""

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from gateway.metrics import GatewayMetrics


def metrics_router(metrics: GatewayMetrics) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", response_class=Response)
    def scrape() -> Response:
        """Request counts and latency by route, rate-limited requests, open streams."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
