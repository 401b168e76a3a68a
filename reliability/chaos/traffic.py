"""Steady client traffic through the gateway, retried as a well-behaved client does."""

import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx

TEXTS = [
    "How do I activate my new card?",
    "Why is my transfer still pending after three days?",
    "I want to close my account",
    "Thanks, the refund arrived!",
]
COMPLAINT = "The exchange rate you charged me is wrong, this is a scandal"
RETRIED = {429, 503, 504}
_ATTEMPT_TIMEOUT_S = 10.0
_MAX_ATTEMPTS = 60  # with back-off capped at 2 s: about two minutes for one batch


@dataclass(frozen=True)
class Answer:
    at: float  # monotonic, when the request was sent
    latency_s: float
    status: int  # 0: no answer (connection refused, reset, timed out)


@dataclass
class Accepted:
    at: float
    ids: list[str] = field(default_factory=list)


class Traffic:
    """Posts `batch_size` messages every `interval_s` on a thread, until stopped.

    Each batch has unique external ids and one Idempotency-Key, kept across its retries, so a
    retried batch gets the same message ids. Every answer and every accepted id is recorded.
    Every `burst_every`-th batch is a burst of complaints, so that alerts fire now and then.
    """

    def __init__(
        self,
        url: str,
        client_key: str,
        run_id: str,
        batch_size: int = 5,
        interval_s: float = 0.2,
        burst_every: int = 150,
        burst_size: int = 40,
    ) -> None:
        self._http = httpx.Client(
            base_url=url, headers={"X-API-Key": client_key}, timeout=_ATTEMPT_TIMEOUT_S
        )
        self._run_id = run_id
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._burst_every = burst_every
        self._burst_size = burst_size
        self._sequence = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-traffic", daemon=True)
        self.answers: list[Answer] = []
        self.accepted: list[Accepted] = []
        self.given_up = 0  # batches abandoned after every retry: a client-visible failure

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=_ATTEMPT_TIMEOUT_S * _MAX_ATTEMPTS)
        self._http.close()

    def pause(self, timeout_s: float = 180) -> None:
        """Stop sending after the batch in flight (which is retried to its end)."""
        self._idle.clear()
        self._paused.set()
        self._idle.wait(timeout_s)

    def resume(self) -> None:
        self._paused.clear()

    def snapshot(self) -> tuple[list[Answer], list[Accepted]]:
        with self._lock:
            return list(self.answers), list(self.accepted)

    def post_batch(self, texts: list[str]) -> list[str]:
        """Sends one batch now, retried; its accepted ids (empty when every retry failed)."""
        with self._lock:
            start = self._sequence
            self._sequence += len(texts)
        batch = [
            {
                "conversation_id": f"conv-{self._run_id}-{(start + i) % 40}",
                "customer_id": f"cust-{self._run_id}-{(start + i) % 40}",
                "text": f"{text} (ref {self._run_id}-{start + i})",
                "channel": "app",
                "external_id": f"chaos-{self._run_id}-{start + i}",
            }
            for i, text in enumerate(texts)
        ]
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        for attempt in range(_MAX_ATTEMPTS):
            if attempt and self._stop.is_set():
                break
            sent = time.monotonic()
            status, ids, retry_after = self._attempt(batch, headers)
            with self._lock:
                self.answers.append(Answer(sent, time.monotonic() - sent, status))
                if ids:
                    self.accepted.append(Accepted(time.monotonic(), ids))
            if ids or (status and status not in RETRIED):
                return ids
            time.sleep(min(2.0, retry_after or 0.1 * 2**attempt))
        with self._lock:
            self.given_up += 1
        return []

    def _attempt(
        self, batch: list[dict[str, str]], headers: dict[str, str]
    ) -> tuple[int, list[str], float | None]:
        try:
            reply = self._http.post("/v1/messages", json={"messages": batch}, headers=headers)
        except httpx.TransportError:
            return 0, [], None
        if 200 <= reply.status_code < 300:
            return reply.status_code, list(reply.json()["ids"]), None
        retry_after = reply.headers.get("Retry-After")
        return reply.status_code, [], float(retry_after) if retry_after else None

    def _run(self) -> None:
        batches = 0
        while not self._stop.is_set():
            if self._paused.is_set():
                self._idle.set()
                self._stop.wait(0.1)
                continue
            batches += 1
            if batches % self._burst_every == 0:
                self.post_batch([COMPLAINT] * self._burst_size)
            else:
                texts = [TEXTS[(batches + i) % len(TEXTS)] for i in range(self._batch_size)]
                self.post_batch(texts)
            self._stop.wait(self._interval_s)
        self._idle.set()
