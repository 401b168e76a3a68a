"""Refuses requests that declare their body's length twice, the request-smuggling shape."""

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.problems import Problem


class AmbiguousFramingGuard:
    """Pure ASGI middleware: 400 and close for a request with both Content-Length and
    Transfer-Encoding.

    RFC 9112 §6.3 lets a server read such a request as chunked but requires it to close the
    connection afterwards, so that bytes a proxy framed differently cannot pass for a second
    request. uvicorn's h11 reads it as chunked and keeps the connection alive; refusing it
    here with `Connection: close` makes the server close it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _declares_both_framings(scope):
            problem = Problem(
                400,
                "ambiguous-framing",
                "Ambiguous message framing",
                "The request has both Content-Length and Transfer-Encoding; send one.",
                headers={"Connection": "close"},
            )
            await problem.response(scope["path"])(scope, receive, send)
            return
        await self._app(scope, receive, send)


def _declares_both_framings(scope: Scope) -> bool:
    names = {name for name, _ in scope["headers"]}
    return b"content-length" in names and b"transfer-encoding" in names
