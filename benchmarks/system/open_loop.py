"""Requests sent at a constant arrival rate, as wrk2 does, each timed from when it was due.

A closed loop (send, wait for the answer, send the next) slows down with the server, so it
never builds the queue real users would: its latencies are those of a lighter load
("coordinated omission"). Here request i is due at start + i / rate whatever happened to the
ones before it, and its latency runs from that due time to the end of its answer: time spent
queueing in the server, in the connection pool or in this client running late all counts.
How late the client itself sent each request is kept apart, to tell when the client, not the
system, was the bottleneck.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

# i -> (path, JSON body) of the i-th request of a run.
RequestFor = Callable[[int], tuple[str, Any]]


@dataclass(frozen=True)
class Outcome:
    due: float  # time.monotonic() at which the schedule sends this request
    send_lag_s: float  # how much later than `due` the client got to send it
    latency_s: float  # from `due` to the end of the answer, or of the failure
    status: int  # HTTP status; 0 when no answer came (timeout, refused, reset)


async def constant_rate(
    client: httpx.AsyncClient,
    rate_per_s: float,
    duration_s: float,
    request_for: RequestFor,
) -> list[Outcome]:
    """POSTs round(rate x duration) requests on the schedule; every outcome, in order."""
    if rate_per_s <= 0 or duration_s <= 0:
        raise ValueError("rate and duration must be positive")
    count = max(1, round(rate_per_s * duration_s))
    start = time.monotonic()
    sending: list[asyncio.Task[Outcome]] = []
    for i in range(count):
        due = start + i / rate_per_s
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        path, body = request_for(i)
        sending.append(asyncio.create_task(_send(client, path, body, due)))
    return list(await asyncio.gather(*sending))


async def _send(client: httpx.AsyncClient, path: str, body: Any, due: float) -> Outcome:
    sent = time.monotonic()
    try:
        status = (await client.post(path, json=body)).status_code
    except httpx.HTTPError:
        status = 0
    return Outcome(due, sent - due, time.monotonic() - due, status)


def http_client(url: str, key: str, timeout_s: float) -> httpx.AsyncClient:
    """One pooled client, with room for every request a saturated run keeps in flight."""
    return httpx.AsyncClient(
        base_url=url,
        headers={"X-API-Key": key},
        timeout=timeout_s,
        limits=httpx.Limits(max_connections=500, max_keepalive_connections=500),
    )
