"""The Server-Sent Events wire format (WHATWG HTML, "server-sent events")."""

from collections.abc import AsyncIterator, Callable

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


def event(data: str, *, event_id: str | None = None, name: str | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if name is not None:
        lines.append(f"event: {name}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


def comment(text: str) -> str:
    """Ignored by clients; keeps idle connections from being cut by proxies."""
    return f": {text}\n\n"


class EventStreamResponse(StreamingResponse):
    """A streaming text/event-stream response that always runs `on_close` when it ends.

    Ending covers the client leaving and the response never starting, so what the stream
    holds upstream is released in every case.
    """

    media_type = "text/event-stream"

    def __init__(self, events: AsyncIterator[str], on_close: Callable[[], None]) -> None:
        # no-transform and X-Accel-Buffering: proxies must pass each event on at once.
        super().__init__(
            events, headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}
        )
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()
