"""A social-feed firehose: message batches to `POST /v1/messages` as fast as they are accepted.

A few posters each send the next batch as soon as their last one was accepted (a closed loop:
throughput, not latency, is measured here). A batch refused for load (429, 503, 504) or left
without an answer is retried with the same Idempotency-Key, so a retry never ingests twice.
"""

import asyncio
import time
from dataclasses import dataclass

import httpx

MESSAGES = "/v1/messages"
RETRIED = {429, 503, 504}
_MAX_ATTEMPTS = 30
_MAX_BACKOFF_S = 2.0
# Posts spread over this many feed authors (each their own conversation).
AUTHORS = 500


@dataclass(frozen=True)
class Accepted:
    at: float  # time.monotonic() of the 202
    ids: list[str]


async def post_all(
    client: httpx.AsyncClient, texts: list[str], batch_size: int, posters: int, run: str
) -> list[Accepted]:
    """Posts every text once, in batches; the accepted batches in the order they came back."""
    starts = iter(range(0, len(texts), batch_size))
    accepted: list[Accepted] = []

    async def poster() -> None:
        for start in starts:  # shared: each batch goes to whichever poster is free
            batch = texts[start : start + batch_size]
            accepted.append(await _post(client, batch, start, run))

    await asyncio.gather(*(poster() for _ in range(posters)))
    return accepted


async def _post(client: httpx.AsyncClient, texts: list[str], first: int, run: str) -> Accepted:
    body = {
        "messages": [
            {
                "conversation_id": f"feed-{run}-{(first + i) % AUTHORS}",
                "customer_id": f"feed-{run}-author-{(first + i) % AUTHORS}",
                "text": text,
                "channel": "social",
                "source": "bench-feed",
                "external_id": f"{run}-{first + i}",
            }
            for i, text in enumerate(texts)
        ]
    }
    headers = {"Idempotency-Key": f"bench-{run}-{first}"}
    for attempt in range(_MAX_ATTEMPTS):
        try:
            reply = await client.post(MESSAGES, json=body, headers=headers)
        except httpx.HTTPError:
            await asyncio.sleep(min(_MAX_BACKOFF_S, 0.1 * 2**attempt))
            continue
        if reply.is_success:
            return Accepted(time.monotonic(), list(reply.json()["ids"]))
        if reply.status_code not in RETRIED:
            raise RuntimeError(f"{MESSAGES} answered {reply.status_code}: {reply.text[:300]}")
        retry_after = reply.headers.get("Retry-After")
        await asyncio.sleep(float(retry_after) if retry_after else 0.1 * 2**attempt)
    raise RuntimeError(f"a batch of {len(texts)} was not accepted after {_MAX_ATTEMPTS} attempts")
