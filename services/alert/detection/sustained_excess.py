"""Sustained excess: are the negatives of the last few buckets, together, an incident?

One bucket at 1.7x its expected negatives is noise on a quiet topic and, on a busy one, a
drift too small to call (the monitor's per-bucket ``min_fold``). The same 1.7x held for ten
minutes on a busy topic is a surge: hundreds of extra angry customers, and overwhelming
evidence once the buckets are added up. This window adds the last ``buckets`` buckets'
negatives and expected negatives and tests the sums, so a moderate surge that lasts is caught
while a single moderate bucket is not.

Constant memory: ``buckets`` (negatives, expected) pairs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowTotals:
    """The summed negatives and expected negatives of the window's buckets."""

    negatives: int
    expected: float

    @property
    def fold(self) -> float:
        return self.negatives / self.expected


class SustainedExcessWindow:
    def __init__(self, buckets: int) -> None:
        if buckets < 1:
            raise ValueError("buckets must be >= 1")
        self._buckets = buckets
        self._pairs: deque[tuple[int, float]] = deque(maxlen=buckets)

    def add(self, negatives: int, expected: float) -> WindowTotals | None:
        """Add one bucket; the totals of the last ``buckets`` buckets once there are enough."""
        self._pairs.append((negatives, expected))
        if len(self._pairs) < self._buckets:
            return None
        return WindowTotals(sum(n for n, _ in self._pairs), sum(e for _, e in self._pairs))

    def to_state(self) -> list[list[float]]:
        return [[n, e] for n, e in self._pairs]

    def load_state(self, pairs: Iterable[tuple[int, float]]) -> None:
        """Continue from :meth:`to_state` output (the newest ``buckets`` pairs are kept)."""
        self._pairs = deque(pairs, maxlen=self._buckets)
