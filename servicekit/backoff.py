"""Exponential backoff with full jitter and a cap, for retrying an outage without hammering it."""

import random
from collections.abc import Callable


class Backoff:
    """Delays of initial_s * 2^n, each drawn uniformly below that (full jitter), capped at max_s.

    Jitter spreads the retries of many consumers that all saw the same outage start.
    """

    def __init__(
        self,
        initial_s: float,
        max_s: float,
        *,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._initial_s = initial_s
        self._max_s = max_s
        self._uniform = uniform
        self._failures = 0

    def next_delay_s(self) -> float:
        """The wait before the next retry; each call counts one more consecutive failure."""
        ceiling = min(self._max_s, self._initial_s * 2 ** min(self._failures, 32))
        self._failures += 1
        return self._uniform(0.0, ceiling)

    def reset(self) -> None:
        """The operation succeeded: the next failure starts from the initial delay again."""
        self._failures = 0
