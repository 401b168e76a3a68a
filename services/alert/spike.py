"""Negative-sentiment spike monitor for one series (one topic + channel).

The caller feeds every time bucket in order (empty buckets as zeros). For each bucket the
monitor asks: given how much *non-negative* traffic arrived, how many negative messages would
be normal, and is the observed number a surprising excess?

* Expected negatives = baseline negative odds x recent non-negative messages per bucket (an
  average over about ``exposure_buckets`` buckets, so one quiet bucket does not make normal
  negatives look excessive). Using the current non-negative traffic as the exposure makes volume
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
  suddenly gets a burst of negatives alerts on its first bucket.
* Buckets that meet the spike condition do not update the baseline, so an incident is not
  learned as normal while it lasts.

An *episode* opens on the first spiking bucket (``new_alert``), stays open while buckets keep
spiking and closes after ``resolve_after_buckets`` quiet buckets (``resolved``); a new episode
cannot open within ``cooldown_buckets`` of the previous one's start.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime

from services.alert.sustained_excess import SustainedExcessWindow

_HOURS_PER_DAY = 24
_HOURS_PER_WEEK = 168
_MAX_SURPRISE_DECADES = 10.0  # score 1.0 == p-value 1e-10
_STATE_VERSION = 2


@dataclass(frozen=True)
class SpikeConfig:
    """Tuning of a :class:`NegativeSpikeMonitor`; the defaults suit 1-minute buckets."""

    min_negatives: int = 10
    threshold: float = 0.5  # score; 0.5 == p-value 1e-5
    min_fold: float = 2.0
    cooldown_buckets: int = 30
    resolve_after_buckets: int = 10
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
        if self.min_fold < 1.0 or self.cooldown_buckets < 0 or self.resolve_after_buckets < 1:
            raise ValueError("min_fold >= 1, cooldown_buckets >= 0, resolve_after_buckets >= 1")
        if self.sustained_buckets < 0 or self.sustained_min_negatives < 1:
            raise ValueError("sustained_buckets must be >= 0 and sustained_min_negatives >= 1")
        if self.sustained_min_fold < 1.0:
            raise ValueError("sustained_min_fold must be >= 1")


@dataclass(frozen=True)
class BucketCounts:
    """Classified messages of one series in one time bucket."""

    bucket_start: datetime
    negative: int
    total: int

    def __post_init__(self) -> None:
        if self.negative < 0 or self.total < self.negative:
            raise ValueError("need 0 <= negative <= total")


@dataclass(frozen=True)
class SpikeVerdict:
    """What the monitor concluded about one bucket."""

    score: float  # in [0, 1]; -log10(p-value) / 10, of the window when that spiked
    spiking: bool  # an episode is open after this bucket
    baseline_negatives: float  # negatives expected in this bucket
    expected_ratio: float  # normal negative share at this time of day/week
    fold: float  # observed negatives / expected negatives
    bucket_spiked: bool  # this bucket met the spike condition (alone or as the sustained window)
    new_alert: bool  # this bucket opened an episode: publish an alert
    resolved: bool  # this bucket closed an episode
    sustained: bool = False  # the last sustained_buckets buckets together spiked


def surprise_score(negatives: int, expected: float) -> float:
    """``-log10 P(K >= negatives | expected) / 10`` in [0, 1]; 0 when there is no excess."""
    p_value = poisson_upper_tail(negatives, expected) if negatives > expected else 1.0
    return min(1.0, -math.log10(max(p_value, 1e-300)) / _MAX_SURPRISE_DECADES)


def poisson_upper_tail(k: int, mean: float) -> float:
    """``P(K >= k)`` for ``K ~ Poisson(mean)``; exact series, bounded work."""
    if k <= 0:
        return 1.0
    if k <= mean:
        return 1.0 - poisson_upper_tail_complement(k, mean)
    log_term = k * math.log(mean) - mean - math.lgamma(k + 1)
    term, total, j = 1.0, 1.0, k
    while term > 1e-16 * total and j < k + 10_000:
        j += 1
        term *= mean / j
        total += term
    return min(1.0, math.exp(log_term) * total)


def poisson_upper_tail_complement(k: int, mean: float) -> float:
    """``P(K < k)`` for ``K ~ Poisson(mean)``, summing the ``k`` lower terms."""
    term = math.exp(-mean)
    total = term
    for j in range(1, k):
        term *= mean / j
        total += term
    return min(1.0, total)


class NegativeSpikeMonitor:
    """Spike detection over one series of time-bucketed negative / total message counts."""

    def __init__(self, config: SpikeConfig | None = None) -> None:
        self.config = config or SpikeConfig()
        c = self.config
        # Decayed message sums: [negative, non-negative] overall, per hour of day, per hour of week.
        prior_negative = c.prior_negative_ratio * c.prior_messages
        self._overall = [prior_negative, c.prior_messages - prior_negative]
        self._by_hour = [[0.0, 0.0] for _ in range(_HOURS_PER_DAY)]
        self._by_week_hour = [[0.0, 0.0] for _ in range(_HOURS_PER_WEEK)]
        self._exposure: float | None = None  # smoothed non-negative messages per bucket
        self._episode_open = False
        self._quiet_buckets = 0
        self._buckets_since_alert: int | None = None
        self._window = SustainedExcessWindow(c.sustained_buckets) if c.sustained_buckets else None

    def observe(self, counts: BucketCounts) -> SpikeVerdict:
        """Judge one bucket, then learn from it unless it is part of a spike."""
        c = self.config
        hour = counts.bucket_start.hour
        week_hour = counts.bucket_start.weekday() * _HOURS_PER_DAY + hour
        odds = self._expected_odds(hour, week_hour)
        non_negative = counts.total - counts.negative
        if self._exposure is None:
            self._exposure = float(non_negative)
        else:
            self._exposure += (non_negative - self._exposure) / c.exposure_buckets
        expected = max(odds * self._exposure, c.min_expected_negatives)
        fold = counts.negative / expected
        score = surprise_score(counts.negative, expected)
        sustained_score = self._sustained_score(counts.negative, expected)
        sustained = sustained_score is not None
        if sustained_score is not None:
            score = max(score, sustained_score)
        condition = sustained or (
            counts.negative >= c.min_negatives and fold >= c.min_fold and score >= c.threshold
        )

        if self._buckets_since_alert is not None:
            self._buckets_since_alert += 1
        new_alert = resolved = False
        if condition:
            self._quiet_buckets = 0
            cooled = self._buckets_since_alert is None or (
                self._buckets_since_alert >= c.cooldown_buckets
            )
            if not self._episode_open and cooled:
                self._episode_open = new_alert = True
                self._buckets_since_alert = 0
        else:
            self._learn(counts.negative, non_negative, hour, week_hour)
            if self._episode_open:
                self._quiet_buckets += 1
                if self._quiet_buckets >= c.resolve_after_buckets:
                    self._episode_open, resolved = False, True
        return SpikeVerdict(
            score=score,
            spiking=self._episode_open,
            baseline_negatives=expected,
            expected_ratio=odds / (1.0 + odds),
            fold=fold,
            bucket_spiked=condition,
            new_alert=new_alert,
            resolved=resolved,
            sustained=sustained,
        )

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
        """JSON-serializable state, including the configuration it was built with."""
        return {
            "version": _STATE_VERSION,
            "config": asdict(self.config),
            "overall": list(self._overall),
            "by_hour": [list(s) for s in self._by_hour],
            "by_week_hour": [list(s) for s in self._by_week_hour],
            "exposure": self._exposure,
            "episode_open": self._episode_open,
            "quiet_buckets": self._quiet_buckets,
            "buckets_since_alert": self._buckets_since_alert,
            "sustained_window": None if self._window is None else self._window.to_state(),
        }

    @classmethod
    def from_state(
        cls, state: dict[str, object], config: SpikeConfig | None = None
    ) -> NegativeSpikeMonitor:
        """Rebuild a monitor from :meth:`to_state` output.

        ``config`` replaces the configuration the state was written with (so a tuning change
        applies to existing series too). A version 1 state (before the sustained-excess test)
        starts that test with an empty window.
        """
        if state.get("version") not in (1, _STATE_VERSION):
            raise ValueError(f"unsupported monitor state version: {state.get('version')!r}")
        stored = state["config"]
        if not isinstance(stored, dict):
            raise ValueError("monitor state has no config")
        monitor = cls(config or SpikeConfig(**stored))
        monitor._overall = _pair(state["overall"])
        monitor._by_hour = _pairs(state["by_hour"], _HOURS_PER_DAY)
        monitor._by_week_hour = _pairs(state["by_week_hour"], _HOURS_PER_WEEK)
        exposure = state["exposure"]
        monitor._exposure = None if exposure is None else float(_number(exposure))
        monitor._episode_open = bool(state["episode_open"])
        monitor._quiet_buckets = _int(state["quiet_buckets"])
        since = state["buckets_since_alert"]
        monitor._buckets_since_alert = None if since is None else _int(since)
        window = state.get("sustained_window")
        if monitor._window is not None and isinstance(window, list):
            monitor._window.load_state((int(n), e) for n, e in map(_pair, window))
        return monitor


def _pair(value: object) -> list[float]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError("expected a pair of numbers")
    return [float(value[0]), float(value[1])]


def _pairs(value: object, length: int) -> list[list[float]]:
    if not isinstance(value, list) or len(value) != length:
        raise ValueError(f"expected {length} seasonal slots")
    return [_pair(item) for item in value]


def _number(value: object) -> float:
    if not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value
