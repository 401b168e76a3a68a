"""Per-key token buckets: each key may burst, then is held to a steady rate."""

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.keyring import ApiKey, Role


@dataclass(frozen=True)
class RateLimit:
    per_s: float
    burst: int


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """One bucket per key; the keys are configured, so the table stays small."""

    def __init__(
        self, limits: Mapping[Role, RateLimit], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: ApiKey) -> float | None:
        """Spend one token; when none is left, the seconds until one will be."""
        limit = self._limits[key.role]
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault(key.sha256, _Bucket(float(limit.burst), now))
            bucket.tokens = min(
                float(limit.burst), bucket.tokens + (now - bucket.updated) * limit.per_s
            )
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / limit.per_s


def retry_after_header(wait_s: float) -> str:
    """Retry-After takes whole seconds; round up so a client that obeys it is let through."""
    return str(max(1, math.ceil(wait_s)))
