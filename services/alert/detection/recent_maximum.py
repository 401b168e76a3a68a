"""The largest values a series brought in its last few days, in constant memory.

Each is kept as one maximum per day-long block of buckets (the current block's included), so
the window slides by a day at a time: ``days`` floats and a counter, whatever the bucket width.
With ``days`` 0 nothing is remembered.

A value within half a percent above the maximum ties with it. A series that trends (a
temperature, a growing topic) sets such hairline highs every few buckets; each scored as a
record, they were the lowest positive scores of the series, far more numerous than real
news, and a threshold chosen on other series paged on every one. Half a percent is below a
count's own noise from a few hundred messages up, and an integer count under 200 cannot top
its maximum by less.
"""

from __future__ import annotations

import math
from collections import deque

from services.alert.detection.state import integer, number

_TIE = 1.005  # a value must top the maximum by more than this factor to be above it


class RecentMaximum:
    def __init__(self, days: int, buckets_per_day: int) -> None:
        self._days: deque[float] = deque(maxlen=days)
        self._buckets_per_day = max(1, buckets_per_day)
        self._current = 0.0
        self._seen_today = 0

    def maximum(self) -> float:
        """The largest value of the last ``days`` days (0 before any value)."""
        return max(self._current, max(self._days, default=0.0))

    def topped_by(self, value: float) -> bool:
        """Whether ``value`` lies above the recent maximum, beyond a tie."""
        return value > self.maximum() * _TIE

    def decades_above(self, value: float) -> float:
        """How many decades ``value`` lies above the recent maximum; 0 when it does not (a tie
        does not), or while nothing positive has been seen."""
        highest = self.maximum()
        if highest <= 0.0 or not self.topped_by(value):
            return 0.0
        return math.log10(value / highest)

    def add(self, value: float) -> None:
        if self._days.maxlen == 0:
            return
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


class RecentRecords:
    """What a bucket must top to be a series' highest of its last ``days`` days, in messages
    or in messages over the expected (the caller's ratio), and how far it tops them."""

    def __init__(self, days: int, buckets_per_day: int) -> None:
        self.counts = RecentMaximum(days, buckets_per_day)
        self.ratios = RecentMaximum(days, buckets_per_day)

    def tops(self, count: float, ratio: float) -> bool:
        """Whether the bucket is the highest so far (every bucket is, while nothing is
        remembered)."""
        if self.ratios.maximum() <= 0.0:
            return True
        return self.counts.topped_by(count) or self.ratios.topped_by(ratio)

    def decades_above(self, count: float, ratio: float) -> float:
        """How many decades the bucket tops them by, whichever more (0 when it does not)."""
        return max(self.counts.decades_above(count), self.ratios.decades_above(ratio))

    def count_topping(self, expected: float, pseudo: float, margin: float) -> float | None:
        """The count above which a bucket expecting ``expected`` tops them by ``margin``
        times (a tie's at least), ratios being (count + pseudo) / (expected + pseudo). While
        nothing is remembered every count is the highest so far (0) and none tops by more
        (None)."""
        if self.ratios.maximum() <= 0.0:
            return 0.0 if margin <= 1.0 else None
        beyond = max(margin, _TIE)
        tops = [beyond * self.ratios.maximum() * (expected + pseudo) - pseudo]
        if self.counts.maximum() > 0.0 or margin <= 1.0:
            tops.append(beyond * self.counts.maximum())
        return max(0.0, min(tops))

    def add(self, count: float, ratio: float) -> None:
        self.counts.add(count)
        self.ratios.add(ratio)
