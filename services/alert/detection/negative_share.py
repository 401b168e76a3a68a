"""Negative-share spike detector for one series (one topic + channel).

The caller feeds every time bucket in order (empty buckets as zeros). For each bucket the
detector asks: given how much *non-negative* traffic arrived, how many negative messages would
be normal, and is the observed number a surprising excess?

* Expected negatives = baseline negative odds x recent non-negative messages per bucket (an
  average over about ``exposure_buckets`` buckets, so one quiet bucket does not make normal
  negatives look excessive, or this bucket's own when more: a surge of all traffic brings its
  share of negatives at once). Using the current non-negative traffic as the exposure makes volume
  seasonality (daily peaks, weekends, campaigns) cancel out: twice the traffic brings twice the
  expected negatives, while an incident (extra negatives) does not raise its own baseline. The
  odds themselves are learned per hour of day and per hour of week, each shrunk towards the
  coarser level until it has seen enough messages (``seasonal_prior_messages``), so a channel
  that is angrier at night does not alert every night.
* Surprise = Poisson upper tail ``P(K >= negatives | expected)``; ``score = -log10(p) / 10``
  clipped to [0, 1] (0.5 means a one-in-100000 bucket).
* Guards: at least ``min_negatives`` negatives (three angry messages at 3 a.m. are not a spike)
  and at least ``min_fold`` times the expected count (on very busy topics a tiny, significant
  drift is not an incident).
* Sustained excess (:mod:`.sustained_excess`): the same test on the last ``sustained_buckets``
  buckets added up, with its own guards (``sustained_min_negatives`` negatives,
  ``sustained_min_fold`` times the expected). A moderate surge that lasts (1.7x for ten minutes
  on a busy topic) spikes although no single bucket of it would.
* Cold start: the odds start from ``prior_negative_ratio`` worth ``prior_messages`` messages and
  the expected count never drops below ``min_expected_negatives``, so a brand-new topic that
  suddenly gets a burst of negatives spikes on its first bucket.
* Buckets that meet the spike condition do not update the baseline, so an incident is not
  learned as normal while it lasts.

Whether a spike opens an alert is not decided here (:mod:`.incidents`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.alert.detection.counts import BucketCounts
from services.alert.detection.state import number, pair, pairs
from services.alert.detection.surprise import surprise_score
from services.alert.detection.sustained_excess import SustainedExcessWindow

_HOURS_PER_DAY = 24
_HOURS_PER_WEEK = 168


@dataclass(frozen=True)
class NegativeShareConfig:
    """Tuning of a :class:`NegativeShareDetector`; the defaults suit 1-minute buckets."""

    min_negatives: int = 10
    threshold: float = 0.5  # score; 0.5 == p-value 1e-5
    min_fold: float = 2.0
    prior_negative_ratio: float = 0.2
    prior_messages: float = 50.0
    min_expected_negatives: float = 1.0
    baseline_half_life_buckets: float = 7 * 24 * 60.0
    seasonal_prior_messages: float = 200.0
    exposure_buckets: float = 10.0
    sustained_buckets: int = 10  # 0 disables the sustained-excess test
    sustained_min_fold: float = 1.5
    sustained_min_negatives: int = 50

    def __post_init__(self) -> None:
        if self.min_negatives < 1:
            raise ValueError("min_negatives must be >= 1")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if not 0.0 < self.prior_negative_ratio < 1.0:
            raise ValueError("prior_negative_ratio must be in (0, 1)")
        if self.prior_messages <= 0 or self.seasonal_prior_messages <= 0:
            raise ValueError("prior message counts must be positive")
        if self.min_expected_negatives <= 0 or self.baseline_half_life_buckets <= 0:
            raise ValueError("min_expected_negatives and baseline_half_life_buckets must be > 0")
        if self.exposure_buckets < 1.0:
            raise ValueError("exposure_buckets must be >= 1")
        if self.min_fold < 1.0:
            raise ValueError("min_fold must be >= 1")
        if self.sustained_buckets < 0 or self.sustained_min_negatives < 1:
            raise ValueError("sustained_buckets must be >= 0 and sustained_min_negatives >= 1")
        if self.sustained_min_fold < 1.0:
            raise ValueError("sustained_min_fold must be >= 1")


@dataclass(frozen=True)
class NegativeShareJudgement:
    """What the detector concluded about one bucket."""

    score: float  # in [0, 1]; -log10(p-value) / 10, of the window when that spiked
    spiked: bool  # the bucket met the spike condition (alone or as the sustained window)
    expected_negatives: float  # negatives expected in this bucket
    expected_ratio: float  # normal negative share at this time of day/week
    fold: float  # observed negatives / expected negatives
    sustained: bool  # the last sustained_buckets buckets together spiked


class NegativeShareDetector:
    """Spike detection over one series of time-bucketed negative / total message counts."""

    def __init__(self, config: NegativeShareConfig | None = None) -> None:
        self.config = config or NegativeShareConfig()
        c = self.config
        # Decayed message sums: [negative, non-negative] overall, per hour of day, per hour of week.
        prior_negative = c.prior_negative_ratio * c.prior_messages
        self._overall = [prior_negative, c.prior_messages - prior_negative]
        self._by_hour = [[0.0, 0.0] for _ in range(_HOURS_PER_DAY)]
        self._by_week_hour = [[0.0, 0.0] for _ in range(_HOURS_PER_WEEK)]
        self._exposure: float | None = None  # smoothed non-negative messages per bucket
        self._window = SustainedExcessWindow(c.sustained_buckets) if c.sustained_buckets else None

    def judge(self, counts: BucketCounts) -> NegativeShareJudgement:
        """Judge one bucket, then learn from it unless it spiked."""
        c = self.config
        hour = counts.bucket_start.hour
        week_hour = counts.bucket_start.weekday() * _HOURS_PER_DAY + hour
        odds = self._expected_odds(hour, week_hour)
        non_negative = counts.total - counts.negative
        if self._exposure is None:
            self._exposure = float(non_negative)
        else:
            self._exposure += (non_negative - self._exposure) / c.exposure_buckets
        # A bucket whose other messages surged brings more negatives too: the exposure is
        # never below this bucket's own, so a surge of all traffic is not a negative spike.
        exposure = max(self._exposure, float(non_negative))
        expected = max(odds * exposure, c.min_expected_negatives)
        fold = counts.negative / expected
        score = surprise_score(counts.negative, expected)
        sustained_score = self._sustained_score(counts.negative, expected)
        sustained = sustained_score is not None
        if sustained_score is not None:
            score = max(score, sustained_score)
        spiked = sustained or (
            counts.negative >= c.min_negatives and fold >= c.min_fold and score >= c.threshold
        )
        if not spiked:
            self._learn(counts.negative, non_negative, hour, week_hour)
        return NegativeShareJudgement(
            score=score,
            spiked=spiked,
            expected_negatives=expected,
            expected_ratio=odds / (1.0 + odds),
            fold=fold,
            sustained=sustained,
        )

    def spike_threshold(self, expected: float) -> int:
        """The fewest negatives meeting every per-bucket guard, given ``expected``: the top of
        the band of normal counts that the console draws.

        Past the guards' floor the score only grows with the count, so a bisection finds it in a
        few dozen evaluations even on a topic expecting thousands of negatives per bucket.
        """
        c = self.config
        low = max(c.min_negatives, math.ceil(c.min_fold * expected))
        if surprise_score(low, expected) >= c.threshold:
            return low
        step = max(1, math.ceil(math.sqrt(expected)))
        high = low + step
        while surprise_score(high, expected) < c.threshold:
            low, step = high, step * 2
            high = low + step
        while high - low > 1:  # score(low) < threshold <= score(high)
            middle = (low + high) // 2
            if surprise_score(middle, expected) >= c.threshold:
                high = middle
            else:
                low = middle
        return high

    def _sustained_score(self, negatives: int, expected: float) -> float | None:
        """The window's score when the last buckets together spike, else None."""
        if self._window is None:
            return None
        c = self.config
        totals = self._window.add(negatives, expected)
        if (
            totals is None
            or totals.negatives < c.sustained_min_negatives
            or totals.fold < c.sustained_min_fold
        ):
            return None
        score = surprise_score(totals.negatives, totals.expected)
        return score if score >= c.threshold else None

    def _expected_odds(self, hour: int, week_hour: int) -> float:
        """Negative odds, hour-of-week shrunk to hour-of-day shrunk to overall."""
        prior = self.config.seasonal_prior_messages
        overall = self._overall[0] / self._overall[1]
        negative, other = self._by_hour[hour]
        daily = (negative + prior * overall) / (other + prior)
        negative, other = self._by_week_hour[week_hour]
        return (negative + prior * daily) / (other + prior)

    def _learn(self, negative: int, non_negative: int, hour: int, week_hour: int) -> None:
        half_life = self.config.baseline_half_life_buckets
        # Each level decays per bucket it sees; a slot sees 1/24 (1/168) of the buckets.
        for sums, periods in (
            (self._overall, 1),
            (self._by_hour[hour], _HOURS_PER_DAY),
            (self._by_week_hour[week_hour], _HOURS_PER_WEEK),
        ):
            decay = 0.5 ** (periods / half_life)
            sums[0] = sums[0] * decay + negative
            sums[1] = sums[1] * decay + non_negative

    def to_state(self) -> dict[str, object]:
        """What it has learned, JSON-serializable; the configuration is the caller's."""
        return {
            "overall": list(self._overall),
            "by_hour": [list(s) for s in self._by_hour],
            "by_week_hour": [list(s) for s in self._by_week_hour],
            "exposure": self._exposure,
            "sustained_window": None if self._window is None else self._window.to_state(),
        }

    @classmethod
    def from_state(
        cls, state: dict[str, object], config: NegativeShareConfig
    ) -> NegativeShareDetector:
        """Continue from :meth:`to_state` output with ``config`` (a tuning change applies to
        existing series too; a sustained window of another length starts empty)."""
        detector = cls(config)
        detector._overall = pair(state["overall"])
        detector._by_hour = pairs(state["by_hour"], _HOURS_PER_DAY)
        detector._by_week_hour = pairs(state["by_week_hour"], _HOURS_PER_WEEK)
        exposure = state["exposure"]
        detector._exposure = None if exposure is None else number(exposure)
        window = state["sustained_window"]
        if detector._window is not None and isinstance(window, list):
            detector._window.load_state((int(n), e) for n, e in map(pair, window))
        return detector
