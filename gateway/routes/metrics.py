"""GET /metrics as the scraper asks: OpenMetrics (which carries exemplars) or Prometheus text."""

from fastapi import APIRouter, Request
from prometheus_client.exposition import choose_encoder
from starlette.responses import Response

from gateway.metrics import GatewayMetrics


def metrics_router(metrics: GatewayMetrics) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", response_class=Response)
    def scrape(request: Request) -> Response:
        """Request counts and latency by route, rate-limited requests, open streams."""
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(metrics.registry), media_type=content_type)

    return router
