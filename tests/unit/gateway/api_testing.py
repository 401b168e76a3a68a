"""What the gateway tests share: API keys, the client factory type, SSE and problem checks."""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

CLIENT_KEY = "client-key-for-tests"
OPERATOR_KEY = "operator-key-for-tests"
AS_CLIENT = {"X-API-Key": CLIENT_KEY}
AS_OPERATOR = {"X-API-Key": OPERATOR_KEY}

# The `make_client` fixture: settings overrides in, a started app's client out.
MakeClient = Callable[..., TestClient]


@dataclass
class ServerSentEvent:
    id: str | None
    name: str | None
    data: Any


class SseReader:
    """Reads events and comments (as strings) off one streaming response.

    Relies on heartbeats to regain control, so the stream must have a short heartbeat.
    """

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.iter_lines()

    def read(self, count: int, *, timeout_s: float = 5.0) -> list[Any]:
        """The next `count` items, or fewer when the stream ends first."""
        deadline = time.monotonic() + timeout_s
        found: list[Any] = []
        fields: dict[str, str] = {}
        for line in self._lines:
            if time.monotonic() > deadline:
                raise AssertionError(f"stream too slow; got {found}")
            if line.startswith(":"):
                found.append(line)
            elif line:
                name, _, value = line.partition(": ")
                fields[name] = value
            elif fields:
                data = json.loads(fields["data"])
                found.append(ServerSentEvent(fields.get("id"), fields.get("event"), data))
                fields = {}
            if len(found) >= count:
                break
        return found


def is_problem(response: httpx.Response, status: int) -> bool:
    """An RFC 9457 problem with this status and every standard member present."""
    body = response.json()
    return (
        response.status_code == status
        and response.headers["content-type"] == "application/problem+json"
        and body["status"] == status
        and all(body.get(member) for member in ("type", "title", "detail", "instance"))
    )
