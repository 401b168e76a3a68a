"""How surprising a series' buckets routinely are, in decades of probability.

The volume detector scores a bucket by its surprise *beyond* this routine: a series the count
model fits less well, or that bursts a lot, needs a bigger jump. Kept as decayed histograms
of surprises, so memory is constant whatever the series' age.
"""

from __future__ import annotations

import math


class SurpriseHistogram:
    """A decayed histogram of surprises, in decades; the level one bucket in ``buckets``
    reaches, extrapolated from the levels that half and the ``top`` fraction of them reach (a
    well-calibrated surprise gains one decade per decade of rarity; the surprise of a series
    that the model fits less well gains more). Constant memory; the decay is applied lazily
    through a growing weight.

    Bins are a tenth of a decade up to 30 decades, then a twentieth of a decade *of decades*:
    a counter that idles near 0 and bursts to millions is millions of decades surprised by
    each burst, and its routine must see how many millions, or every burst pages alike."""

    _BIN = 0.1
    _LINEAR_BINS = 300  # 0 to 30 decades
    _LOG_BINS_PER_DECADE = 20
    _BINS = _LINEAR_BINS + 9 * _LOG_BINS_PER_DECADE  # up to 3e10 decades; the last holds more
    _LINEAR_END = _LINEAR_BINS * _BIN

    def __init__(self, top: float, buckets: float, half_life: float) -> None:
        self._top = top
        self._half_to_top = math.log10(0.5 / top)  # decades of rarity from the median
        self._rarity = math.log10(buckets)
        self._growth = 0.5 ** (-1.0 / half_life)
        self._weight = 1.0
        self.bins = [0.0] * self._BINS

    @classmethod
    def _index(cls, decades: float) -> int:
        if decades < cls._LINEAR_END:
            return max(0, int(decades / cls._BIN))
        beyond = int(math.log10(decades / cls._LINEAR_END) * cls._LOG_BINS_PER_DECADE)
        return min(cls._LINEAR_BINS + beyond, cls._BINS - 1)

    @classmethod
    def _centre(cls, index: int) -> float:
        if index < cls._LINEAR_BINS:
            return (index + 0.5) * cls._BIN
        beyond = (index - cls._LINEAR_BINS + 0.5) / cls._LOG_BINS_PER_DECADE
        return cls._LINEAR_END * math.pow(10.0, beyond)

    def add(self, decades: float) -> None:
        self.bins[self._index(decades)] += self._weight
        self._weight *= self._growth
        if self._weight > 1e100:  # rescale before the weights overflow
            self.bins = [value / self._weight for value in self.bins]
            self._weight = 1.0

    def level(self, floor: float) -> float:
        """The surprise one bucket in ``buckets`` reaches; never below ``floor``."""
        total = sum(self.bins)
        if total == 0.0:
            return floor
        half = top = None
        seen = 0.0
        for index, value in enumerate(self.bins):
            seen += value
            if half is None and seen >= 0.5 * total:
                half = self._centre(index)
            if seen >= (1.0 - self._top) * total:
                top = self._centre(index)
                break
        if half is None or top is None:
            return floor
        gain = (top - half) / self._half_to_top  # decades of surprise per decade of rarity
        return max(floor, top + gain * (self._rarity + math.log10(self._top)))

    def to_state(self) -> list[float]:
        return [value / self._weight for value in self.bins]

    def load(self, bins: list[float]) -> None:
        if len(bins) == self._LINEAR_BINS:  # written before the log bins: nothing beyond 30
            bins = [*bins, *[0.0] * (self._BINS - self._LINEAR_BINS)]
        if len(bins) != self._BINS:
            raise ValueError(f"expected {self._BINS} routine bins")
        self.bins, self._weight = list(bins), 1.0


class RoutineSurprise:
    """How surprising this series' buckets routinely are, in decades of probability.

    Once the series is settled, from the top fiftieth of its buckets' surprises: that sees
    bursts a series brings a few times a day in 5-minute buckets (byte counters jumping tenfold
    and more), with the sustained windows that hold them, as routine, where a top tenth missed
    them and paged on each; incidents, a few a week, stay below it. But a series' first day,
    while its daily cycle is still being learned, brings its most surprising buckets, and in
    the top fiftieth they would hide a young topic's surges for weeks. So the first ``buckets``
    buckets go to a histogram read at its top tenth, which serves until the settled histogram
    has seen as many buckets of its own.
    """

    _LEARNING_TOP = 0.1
    _SETTLED_TOP = 0.02

    def __init__(self, buckets: float, half_life: float) -> None:
        self._learning_buckets = round(buckets)
        self.learning = SurpriseHistogram(self._LEARNING_TOP, buckets, half_life)
        self.settled = SurpriseHistogram(self._SETTLED_TOP, buckets, half_life)
        self.seen = 0

    def add(self, decades: float) -> None:
        self.seen += 1
        (self.learning if self.seen <= self._learning_buckets else self.settled).add(decades)

    def level(self, floor: float) -> float:
        """The surprise one bucket in ``buckets`` reaches; never below ``floor``."""
        settled = self.seen >= 2 * self._learning_buckets
        return (self.settled if settled else self.learning).level(floor)

    def start_settled(self) -> None:
        """Continue a state from before the settled histogram: its learning day is over."""
        self.seen = self._learning_buckets
