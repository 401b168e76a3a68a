"""GET /console/...: the console's pages, scripts and styles, behind a strict CSP.

The pages call the public API from the browser with the key the user typed in, so the console
can do exactly what that key's role can, nothing more. Served by the gateway itself: one
origin for pages and API (no CORS), one deployable, behind the same ingress.
"""

import json
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from gateway.console.assets import Asset, load_assets
from gateway.problems import Problem
from gateway.settings import GatewaySettings

STATIC_DIR = Path(__file__).parent / "static"

# Only the console's own files run or style the page; it talks only to this origin; nobody
# may frame it (clickjacking); forms post only here. No inline script or style anywhere.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # Revalidated on every load (cheap: ETag), so a new release shows at once.
    "Cache-Control": "no-cache",
}


def console_router(settings: GatewaySettings) -> APIRouter:
    assets = load_assets(STATIC_DIR)
    # Where the pages link out to; null hides the links.
    links = {"trace_url": settings.console_trace_url, "grafana_url": settings.console_grafana_url}
    assets["config.json"] = Asset(json.dumps(links).encode(), "application/json")
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/")

    @router.get("/console")
    async def console_root() -> RedirectResponse:
        return RedirectResponse("/console/")  # relative links in the pages need the slash

    @router.get("/console/{path:path}")
    async def console_file(path: str, request: Request) -> Response:
        asset = assets.get(path or "index.html")
        if asset is None:
            raise Problem(404, "not-found", "Not found", "The console has no such page.")
        headers = {**SECURITY_HEADERS, "ETag": asset.etag}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)

    return router
