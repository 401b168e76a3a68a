"""Refuses request bodies over a size limit, or that arrive too slowly, before any route reads
them."""

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.problems import Problem


class BodySizeLimit:
    """Pure ASGI middleware: reads the body up to the limit, then replays it to the app.

    Buffering is fine at this size (the routes parse whole JSON bodies anyway) and catches
    chunked uploads, which declare no Content-Length.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 30.0) -> None:
        self._app = app
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self._max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        try:
            # A trickled body would hold its connection and memory for as long as it pleases.
            async with asyncio.timeout(self._timeout_s):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        break  # the client left before sending its body
                    chunks.append(message.get("body", b""))
                    size += len(chunks[-1])
                    if size > self._max_bytes:
                        await self._too_large(scope, receive, send)
                        return
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            problem = Problem(
                408,
                "request-timeout",
                "Request timeout",
                f"The request body did not arrive within {self._timeout_s:g} seconds.",
                headers={"Connection": "close"},
            )
            await problem.response(scope["path"])(scope, receive, send)
            return
        await self._app(scope, _replay(b"".join(chunks), receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = Problem(
            413,
            "body-too-large",
            "Request body too large",
            f"The request body is over {self._max_bytes} bytes; send smaller batches.",
        )
        await problem.response(scope["path"])(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server rejects it; the streamed count still applies
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replayed
