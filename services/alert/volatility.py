"""Volatility shift: has the series started moving far more from point to point than it did?

A series that turns from calm to agitated (a flat metric starting to oscillate, a smooth
curve turning jittery) can stay inside its range, at its usual level, and even trace shapes
the pattern memory has seen once before. What changes is how much each value differs from the
one before. This check runs the upward side of the level-shift test of :mod:`.level_shift` on
those absolute changes: the median change over the last run against the band of the changes
before it. Only more movement counts; a calmer stretch is not an incident.

The band is wider than the level-shift check's (``quantile`` trims more) because changes are
heavy-tailed: occasional jumps are ordinary and should not set the bar, a sustained run of
large changes should.

Constant memory (the previous value plus the level-shift test's run and reference).
"""

from __future__ import annotations

from collections.abc import Iterable

from services.alert.level_shift import LevelShiftNovelty


class VolatilityShiftNovelty:
    """Novelty of the recent run of absolute point-to-point changes against their band."""

    def __init__(
        self, run_points: int, reference_points: int, quantile: float, break_fraction: float
    ) -> None:
        self._changes = LevelShiftNovelty(
            run_points, reference_points, quantile, break_fraction, upward_only=True
        )
        self._previous: float | None = None

    def update(self, value: float, min_band: float) -> float:
        """Add ``value`` and return the novelty of the changes' run (0 until the band is known);
        ``min_band`` floors the band's width as in :meth:`LevelShiftNovelty.update`."""
        previous, self._previous = self._previous, value
        if previous is None:
            return 0.0
        return self._changes.update(abs(value - previous), min_band)

    def to_state(self) -> dict[str, object]:
        return {"previous": self._previous, **self._changes.to_state()}

    def load_state(
        self, previous: float | None, run: Iterable[float], reference: Iterable[float]
    ) -> None:
        """Continue from :meth:`to_state` output."""
        self._previous = previous
        self._changes.load_state(run, reference)
