"""Seasonal level shift: the series against itself one day and one week earlier.

Busy and quiet hours repeat. A night as busy as a normal afternoon stays inside the range and
traces a familiar shape, so neither the pattern memory nor the plain level-shift check sees
it, yet it is not what that hour usually holds. For each timestamped point the residual is its
difference to the value at the same time one day and one week earlier, whichever is smaller
(matching either is ordinary), and the level-shift test of :mod:`.level_shift` runs on the
residuals. It speaks only where seasonality explains the series, i.e. where the residuals'
band is at most ``gate`` times the band of the values themselves.

Bounded memory (``history_points`` timestamped values, enough for a week of 5-minute points by
default; lags the history does not reach are skipped) and amortised O(1) work per point.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta

from services.alert.level_shift import LevelShiftNovelty

LAGS_S = (timedelta(days=1).total_seconds(), timedelta(days=7).total_seconds())


class SeasonalShiftNovelty:
    def __init__(
        self,
        history_points: int,
        residual_shift: LevelShiftNovelty,
        gate: float,
    ) -> None:
        if history_points < 2 or gate <= 0:
            raise ValueError("history_points must be >= 2 and gate > 0")
        self._history_points = history_points
        self._residuals = residual_shift
        self._gate = gate
        self._times: deque[float] = deque()  # POSIX seconds, increasing
        self._values: deque[float] = deque()
        self._next = [0] * len(LAGS_S)  # per lag: history entries before it are too old

    def update(
        self, timestamp: datetime, value: float, value_band: float | None, min_band: float
    ) -> float:
        """Novelty of the residual run ending at ``value`` (0 without a lagged match or where
        seasonality does not explain the series; ``value_band`` is the values' own band)."""
        now = timestamp.timestamp()
        if self._times and now <= self._times[-1]:
            return 0.0  # out of order: no reliable "same time yesterday"
        lagged = self._lagged(now)
        self._times.append(now)
        self._values.append(value)
        if len(self._times) > self._history_points:
            self._times.popleft()
            self._values.popleft()
            self._next = [max(0, i - 1) for i in self._next]
        if not lagged:
            return 0.0
        residual = min((value - v for v in lagged), key=abs)
        novelty = self._residuals.update(residual, min_band)
        residual_band = self._residuals.band()
        if value_band is None or residual_band is None or residual_band > self._gate * value_band:
            return 0.0
        return novelty

    def _lagged(self, now: float) -> list[float]:
        """Values at ``now`` minus each lag, within half the mean spacing of the points."""
        count = len(self._times)
        if count < 2:
            return []
        tolerance = (self._times[-1] - self._times[0]) / (count - 1) / 2.0
        found = []
        for k, lag in enumerate(LAGS_S):
            target = now - lag
            i = self._next[k]
            while i < count and self._times[i] < target - tolerance:
                i += 1
            self._next[k] = i
            if i < count and abs(self._times[i] - target) <= tolerance:
                found.append(self._values[i])
        return found

    def to_state(self) -> dict[str, object]:
        return {
            "times": list(self._times),
            "values": list(self._values),
            "residuals": self._residuals.to_state(),
        }

    def load_state(
        self,
        times: Iterable[float],
        values: Iterable[float],
        run: Iterable[float],
        reference: Iterable[float],
    ) -> None:
        """Continue from :meth:`to_state` output."""
        self._times, self._values = deque(times), deque(values)
        if len(self._times) != len(self._values) or len(self._times) > self._history_points:
            raise ValueError("seasonal history is inconsistent with its configuration")
        self._next = [0] * len(LAGS_S)
        self._residuals.load_state(run, reference)
