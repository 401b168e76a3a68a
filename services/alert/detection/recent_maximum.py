"""The largest value a series brought in its last few days, in constant memory.

Kept as one maximum per day-long block of buckets (the current block's included), so the
window slides by a day at a time: ``days`` floats and a counter, whatever the bucket width.
"""

from __future__ import annotations

import math
from collections import deque

from services.alert.detection.state import integer, number


class RecentMaximum:
    def __init__(self, days: int, buckets_per_day: int) -> None:
        self._days: deque[float] = deque(maxlen=days)
        self._buckets_per_day = max(1, buckets_per_day)
        self._current = 0.0
        self._seen_today = 0

    def maximum(self) -> float:
        """The largest value of the last ``days`` days (0 before any value)."""
        return max(self._current, max(self._days, default=0.0))

    def decades_above(self, value: float) -> float:
        """How many decades ``value`` lies above the recent maximum; 0 when it does not, or
        while nothing positive has been seen."""
        highest = self.maximum()
        if highest <= 0.0 or value <= highest:
            return 0.0
        return math.log10(value / highest)

    def add(self, value: float) -> None:
        self._current = max(self._current, value)
        self._seen_today += 1
        if self._seen_today >= self._buckets_per_day:
            self._days.append(self._current)
            self._current, self._seen_today = 0.0, 0

    def to_state(self) -> dict[str, object]:
        return {"days": list(self._days), "current": self._current, "seen": self._seen_today}

    def load(self, state: object) -> None:
        if not isinstance(state, dict) or not isinstance(state.get("days"), list):
            raise ValueError("expected a recent maximum's days, current and seen")
        self._days.clear()
        self._days.extend(number(value) for value in state["days"])
        self._current = number(state["current"])
        self._seen_today = integer(state["seen"])
