"""Sustained level shift: has the series settled outside where it has recently been?

The pattern memory of :mod:`services.alert.detector` measures distances in units of the whole
range seen so far, so after one huge early excursion a later shift to a level never visited in
normal operation can look small. This check asks a complementary question against a bounded,
outlier-trimmed reference instead:

* the *run* is the last ``run_points`` values; its median ignores a lone spike (that is the
  pattern memory's business), so only a shift held for most of the run counts;
* the *reference* is the ``reference_points`` values before the run, kept sorted; its
  ``quantile`` and ``1 - quantile`` order statistics bound the recent normal band, so a few
  outliers in the reference neither widen the band nor hide a shift;
* novelty is how far the run's median lies outside the band, in units of the band's width
  and of ``break_fraction`` (novelty 1 at ``break_fraction`` band widths outside); with
  ``upward_only`` only a run above the band counts (for statistics where less is not news).

Constant memory (``run_points + reference_points`` values) and bounded work per point.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable

# Fewer reference values than this and the band's quantiles mean little: no novelty yet.
MIN_REFERENCE_POINTS = 100


class LevelShiftNovelty:
    """Novelty of the recent run's median against the band of the values just before it."""

    def __init__(
        self,
        run_points: int,
        reference_points: int,
        quantile: float,
        break_fraction: float,
        *,
        upward_only: bool = False,
    ) -> None:
        if run_points < 1 or reference_points < MIN_REFERENCE_POINTS:
            raise ValueError(f"run_points >= 1 and reference_points >= {MIN_REFERENCE_POINTS}")
        if not 0 <= quantile < 0.5 or break_fraction <= 0:
            raise ValueError("quantile must be in [0, 0.5) and break_fraction > 0")
        self._run_points = run_points
        self._reference_points = reference_points
        self._quantile = quantile
        self._break_fraction = break_fraction
        self._upward_only = upward_only
        self._run: deque[float] = deque()
        self._reference: deque[float] = deque()  # arrival order, to know which value leaves
        self._sorted_reference: list[float] = []

    def update(self, value: float, min_band: float) -> float:
        """Add ``value`` to the run and return the run's novelty (0 while the band is unknown).

        ``min_band`` floors the band width so that a flat reference (a constant series) does
        not turn the smallest wobble into an infinite novelty.
        """
        self._run.append(value)
        if len(self._run) > self._run_points:
            self._add_to_reference(self._run.popleft())
        bounds = self._bounds()
        if bounds is None:
            return 0.0
        low, high = bounds
        band = max(high - low, min_band, 1e-12)
        median = sorted(self._run)[len(self._run) // 2]
        below = 0.0 if self._upward_only else low - median
        outside = max(median - high, below, 0.0)
        return outside / band / self._break_fraction

    def band(self) -> float | None:
        """Width of the reference's trimmed band (None while it is too short to mean much)."""
        bounds = self._bounds()
        return None if bounds is None else bounds[1] - bounds[0]

    def _bounds(self) -> tuple[float, float] | None:
        count = len(self._sorted_reference)
        if count < MIN_REFERENCE_POINTS:
            return None
        trimmed = int(self._quantile * count)
        return self._sorted_reference[trimmed], self._sorted_reference[count - 1 - trimmed]

    def _add_to_reference(self, value: float) -> None:
        self._reference.append(value)
        bisect.insort(self._sorted_reference, value)
        if len(self._reference) > self._reference_points:
            oldest = self._reference.popleft()
            del self._sorted_reference[bisect.bisect_left(self._sorted_reference, oldest)]

    def to_state(self) -> dict[str, list[float]]:
        """The run and the reference, oldest first (the sorted copy is rebuilt on load)."""
        return {"run": list(self._run), "reference": list(self._reference)}

    def load_state(self, run: Iterable[float], reference: Iterable[float]) -> None:
        """Continue from :meth:`to_state` output."""
        self._run = deque(run)
        self._reference = deque(reference)
        if len(self._run) > self._run_points or len(self._reference) > self._reference_points:
            raise ValueError("level-shift state is longer than its configuration allows")
        self._sorted_reference = sorted(self._reference)
