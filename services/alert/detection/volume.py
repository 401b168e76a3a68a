"""Volume surge detector: is this bucket's count of messages far above what this hour brings?

Counts of messages behave alike whatever they count (mentions of a topic, chats on a channel,
tweets about a company): a rate that follows the clock, that wanders more than a Poisson rate
would, and bursts now and then. The detector models exactly that, one count per bucket:

* Expected count = level x seasonal factor. The level is a moving average of the
  deseasonalised counts over about ``level_buckets`` buckets. The factor is learned per hour
  of day and per hour of week: the counts seen then over the levels they were seen at (a ratio
  of sums, so a bucket counts as much as the traffic the level promised: a count after a
  silence, when the level is near 0, is no evidence of a thousandfold hour), each shrunk
  towards the coarser one until it has seen ``seasonal_prior_buckets`` buckets' worth of
  the current level, and forgets with a half-life of ``seasonal_half_life_buckets``.
* Overdispersion: counts are negative binomial, variance ``mu + dispersion * mu^2``; the
  dispersion is the series' own, estimated by moments from its recent normal buckets. A
  series whose rate jitters a lot needs a bigger jump to surprise.
* Surprise = the negative binomial upper tail of the count, on the same score scale as the
  negative-share monitor (``score = -log10(p) / 10``). A bucket surges when the score reaches
  ``threshold``, the count is at least ``min_count`` and ``min_fold`` times the expected, and
  it is the series' highest of the last ``record_days`` days (in messages or over the
  expected): a burst no bigger than others of the week is the series' routine.
* Sustained surge: the same test on the sum of the last ``sustained_buckets`` buckets (with
  its own dispersion, since bursts last more than a bucket), guarded by
  ``sustained_min_fold``: a rise too gradual for any one bucket is caught as it builds.
* Records: a count (or a count over the expected) far beyond the largest of the series' last
  ``record_days`` days is news however the model fits the series: how many decades it tops
  them by is a second score, and the bucket's score is the larger (with the same guards).
* Learning: normal buckets teach the level, the seasonal factors and the dispersion, with the
  count capped at the surge threshold so one burst barely moves them. A surging bucket
  teaches only the level, capped too and ``surge_learning_slowdown`` times slower, so traffic
  that stays at its new height becomes normal within hours instead of alerting forever.
* Warm-up: the first ``warmup_buckets`` buckets of a series only learn: a new topic's first
  messages are not a surge of anything.

Constant memory (192 seasonal slots, a short window, the routine histograms and a maximum
per day of the record window) and constant work per bucket.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.alert.detection.recent_maximum import RecentRecords
from services.alert.detection.routine_surprise import RoutineSurprise
from services.alert.detection.state import integer, number, pairs
from services.alert.detection.surprise import overdispersed_decades

_HOURS_PER_DAY = 24
_HOURS_PER_WEEK = 168
_MIN_LEVEL = 1e-3  # a level of exactly 0 would make every ratio infinite
_MAX_DISPERSION = 4.0
_SCORE_DECADES = 10.0  # score 1.0 == 10 decades beyond the series' routine surprise
_DEFAULT_BUCKET = timedelta(seconds=60)  # what the horizons' defaults are given for
# The surge threshold's search doubles its step from one standard deviation; 2**64 of them is
# beyond any count, and keeps the work per bucket bounded where the tail underflows.
_MAX_DOUBLINGS = 64
_NO_THRESHOLD = 2**62  # no count surges: beyond any count a bucket brings


def _score(decades: float) -> float:
    return min(1.0, max(decades, 0.0) / _SCORE_DECADES)


@dataclass(frozen=True)
class VolumeConfig:
    """Tuning of a :class:`VolumeSurgeDetector`; horizons are in buckets, their defaults in
    60-second buckets (:meth:`for_bucket_width` keeps their span for other widths)."""

    # Score: decades of probability beyond the series' routine surprise, / 10 (0.2: a bucket
    # 100 times rarer than the rarest one this series brings in a day, for 1-minute buckets).
    threshold: float = 0.2
    min_count: int = 20
    min_fold: float = 2.0
    sustained_buckets: int = 5  # 0 disables the sustained test
    sustained_min_fold: float = 1.5
    level_buckets: float = 360.0
    seasonal_prior_buckets: float = 60.0
    seasonal_half_life_buckets: float = 4 * 7 * 24 * 60.0
    dispersion_buckets: float = 1440.0
    initial_dispersion: float = 0.05
    min_dispersion: float = 0.0
    surge_learning_slowdown: float = 20.0
    warmup_buckets: int = 60
    routine_buckets: float = 1440.0
    routine_half_life_buckets: float = 4 * 7 * 24 * 60.0
    routine_floor_decades: float = 3.0
    record_days: int = 7  # 0 disables the record evidence
    buckets_per_day: float = 1440.0

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if self.min_count < 1 or self.min_fold < 1.0 or self.sustained_min_fold < 1.0:
            raise ValueError("min_count >= 1, min_fold >= 1 and sustained_min_fold >= 1")
        if min(self.sustained_buckets, self.warmup_buckets, self.record_days) < 0:
            raise ValueError("sustained_buckets, warmup_buckets and record_days must be >= 0")
        horizons = (
            self.level_buckets,
            self.seasonal_prior_buckets,
            self.seasonal_half_life_buckets,
            self.dispersion_buckets,
            self.surge_learning_slowdown,
            self.buckets_per_day,
        )
        if min(horizons) < 1.0:
            raise ValueError("horizons and surge_learning_slowdown must be >= 1")
        if not 0.0 <= self.min_dispersion <= self.initial_dispersion <= _MAX_DISPERSION:
            raise ValueError("need 0 <= min_dispersion <= initial_dispersion <= 4")

    def for_bucket_width(self, width: timedelta) -> VolumeConfig:
        """These settings, given for 60-second buckets, for buckets of ``width``: the learning
        horizons keep their span in time (a level over 6 hours, a routine bucket once a day,
        an hour of a slot's own buckets before it outweighs its prior), so 5-minute buckets
        do not learn five times slower. Thresholds, the warm-up and the sustained window are
        what an operator sets per deployment, in buckets, and stay as they are."""
        scale = _DEFAULT_BUCKET / width
        return replace(
            self,
            level_buckets=max(1.0, self.level_buckets * scale),
            seasonal_prior_buckets=max(1.0, self.seasonal_prior_buckets * scale),
            seasonal_half_life_buckets=max(1.0, self.seasonal_half_life_buckets * scale),
            dispersion_buckets=max(1.0, self.dispersion_buckets * scale),
            routine_buckets=max(1.0, self.routine_buckets * scale),
            routine_half_life_buckets=max(1.0, self.routine_half_life_buckets * scale),
            buckets_per_day=max(1.0, self.buckets_per_day * scale),
        )


@dataclass(frozen=True)
class VolumeJudgement:
    """What the detector concluded about one bucket's count."""

    # In [0, 1]: the larger of the count model's (0 unless the bucket is the week's highest),
    # the record's, and the sustained window's when that surged.
    score: float
    surged: bool  # the bucket met the surge condition (alone or as the sustained window)
    expected: float  # the count this bucket was expected to bring
    surge_threshold: int  # the smallest count that would have surged this bucket alone
    sustained: bool  # the last sustained_buckets buckets together surged


class _Dispersion:
    """Moment estimate of the negative binomial dispersion, as a moving average."""

    def __init__(self, initial: float, floor: float, buckets: float) -> None:
        self.value = initial
        self._floor = floor
        self._rate = 1.0 / buckets

    def learn(self, count: float, expected: float) -> None:
        # Var(log x) ~ 1 / mu + dispersion for a negative binomial (delta method); logarithms
        # keep one burst from dominating the estimate.
        moment = ((count - expected) ** 2 - count) / (expected * expected)
        moment = min(max(moment, 0.0), _MAX_DISPERSION)
        self.value = max(self._floor, self.value + (moment - self.value) * self._rate)


class VolumeSurgeDetector:
    def __init__(self, config: VolumeConfig | None = None) -> None:
        self.config = c = config or VolumeConfig()
        self._level: float | None = None
        self._buckets_seen = 0
        # Per slot: decayed [sum of counts, sum of the levels they were counted at].
        self._by_hour = [[0.0, 0.0] for _ in range(_HOURS_PER_DAY)]
        self._by_week_hour = [[0.0, 0.0] for _ in range(_HOURS_PER_WEEK)]
        self._dispersion = _Dispersion(c.initial_dispersion, c.min_dispersion, c.dispersion_buckets)
        self._window_dispersion = _Dispersion(
            c.initial_dispersion, c.min_dispersion, c.dispersion_buckets
        )
        self._window: deque[tuple[float, float]] = deque(maxlen=max(c.sustained_buckets, 1))
        self._routine = RoutineSurprise(c.routine_buckets, c.routine_half_life_buckets)
        self._records = RecentRecords(c.record_days, round(c.buckets_per_day))

    def judge(self, count: float, at: datetime) -> VolumeJudgement:
        """Judge one bucket's count, then learn from it."""
        c = self.config
        hour = at.hour
        week_hour = at.weekday() * _HOURS_PER_DAY + hour
        factor = self._factor(hour, week_hour)
        if self._level is None:
            self._level = max(count / factor, _MIN_LEVEL)
        expected = max(self._level * factor, _MIN_LEVEL)
        dispersion = self._dispersion.value
        routine = self._routine.level(c.routine_floor_decades)
        warm = self._buckets_seen >= c.warmup_buckets
        single = overdispersed_decades(count, expected, dispersion)
        window, window_guards = self._add_to_window(count, expected)
        window_score = _score(window - routine)
        sustained = warm and window_guards and window_score >= c.threshold
        if warm:
            self._routine.add(max(single, window))
        # One bucket alone surges on the count model only when it is also the series' highest
        # of the week, in messages or over its expectation: a burst no bigger than others this
        # week brought is the series' routine, however improbable the model finds it.
        seen, ratio = max(count, 0.0), self._ratio(count, expected)
        score = _score(single - routine) if self._records.tops(seen, ratio) else 0.0
        if sustained:
            score = max(score, window_score)
        record = min(1.0, self._records.decades_above(seen, ratio))
        surged = warm and (
            sustained
            or (max(score, record) >= c.threshold and self._passes_guards(count, expected))
        )
        score = max(score, record)
        threshold_count = self._threshold_count(expected, dispersion, routine)
        self._records.add(seen, ratio)
        self._learn(count, expected, factor, threshold_count, hour, week_hour, surged)
        return VolumeJudgement(
            score=score if warm else 0.0,
            surged=surged,
            expected=expected,
            surge_threshold=threshold_count,
            sustained=sustained,
        )

    def _pseudo_count(self) -> float:
        # The level: a quiet series' ratios are then not noise over an expectation of ~0.
        return max(self._level or _MIN_LEVEL, _MIN_LEVEL)

    def _ratio(self, count: float, expected: float) -> float:
        pseudo = self._pseudo_count()
        return (max(count, 0.0) + pseudo) / (max(expected, 0.0) + pseudo)

    def _threshold_count(self, expected: float, dispersion: float, routine: float) -> int:
        """The fewest messages that would have surged this bucket alone: improbable and the
        week's highest, or a record by ``threshold`` decades, either meeting the guards."""
        c, pseudo = self.config, self._pseudo_count()
        highest = self._records.count_topping(expected, pseudo, 1.0) or 0.0
        surprising = max(self.surge_threshold(expected, dispersion, routine), int(highest) + 1)
        topping = self._records.count_topping(expected, pseudo, math.pow(10.0, c.threshold))
        if topping is None:
            return min(surprising, _NO_THRESHOLD)
        record = max(self._fewest_guarded(expected), math.ceil(topping))
        return min(surprising, record, _NO_THRESHOLD)

    def _fewest_guarded(self, expected: float) -> int:
        """The fewest messages that meet the per-bucket guards."""
        return max(self.config.min_count, math.ceil(self.config.min_fold * expected))

    def _passes_guards(self, count: float, expected: float) -> bool:
        c = self.config
        return count >= c.min_count and count >= c.min_fold * expected

    def surge_threshold(self, expected: float, dispersion: float, routine: float) -> int:
        """The fewest messages meeting every per-bucket guard, given the expectation, the
        dispersion and how surprising the series' buckets routinely are."""
        c = self.config
        needed = c.threshold * _SCORE_DECADES + routine

        def surges(count: int) -> bool:
            return overdispersed_decades(count, expected, dispersion) >= needed

        low = self._fewest_guarded(expected)
        if surges(low):
            return low
        step = max(1, math.ceil(math.sqrt(expected + dispersion * expected * expected)))
        high = low + step
        for _ in range(_MAX_DOUBLINGS):
            if surges(high):
                break
            low, step = high, step * 2
            high = low + step
        else:  # beyond where the tail can be told from 0 in floating point: nothing surges
            return high
        while high - low > 1:  # low does not surge, high does
            middle = (low + high) // 2
            if surges(middle):
                high = middle
            else:
                low = middle
        return high

    def _add_to_window(self, count: float, expected: float) -> tuple[float, bool]:
        """The surprise of the last ``sustained_buckets`` buckets together, and whether they
        pass the window's guards."""
        c = self.config
        if c.sustained_buckets == 0:
            return 0.0, False
        self._window.append((count, expected))
        if len(self._window) < c.sustained_buckets:
            return 0.0, False
        total = sum(n for n, _ in self._window)
        total_expected = sum(e for _, e in self._window)
        decades = overdispersed_decades(total, total_expected, self._window_dispersion.value)
        guards = total >= c.min_count and total >= c.sustained_min_fold * total_expected
        if not guards:
            self._window_dispersion.learn(total, total_expected)
        return decades, guards

    def _factor(self, hour: int, week_hour: int) -> float:
        """Seasonal factor, hour of week shrunk to hour of day shrunk to 1; the prior weighs
        as ``seasonal_prior_buckets`` buckets at the current level."""
        prior = self.config.seasonal_prior_buckets * (self._level or 1.0)
        counts, levels = self._by_hour[hour]
        daily = (counts + prior) / (levels + prior)
        counts, levels = self._by_week_hour[week_hour]
        return (counts + prior * daily) / (levels + prior)

    def _learn(
        self,
        count: float,
        expected: float,
        factor: float,
        threshold_count: int,
        hour: int,
        week_hour: int,
        surged: bool,
    ) -> None:
        c = self.config
        self._buckets_seen += 1
        capped = min(count, float(threshold_count))
        level = self._level if self._level is not None else _MIN_LEVEL
        rate = 1.0 / c.level_buckets
        if surged:
            self._level = max(
                level + (capped / factor - level) * rate / c.surge_learning_slowdown, _MIN_LEVEL
            )
            return
        self._level = max(level + (count / factor - level) * rate, _MIN_LEVEL)
        self._dispersion.learn(count, expected)
        for sums, periods in (
            (self._by_hour[hour], _HOURS_PER_DAY),
            (self._by_week_hour[week_hour], _HOURS_PER_WEEK),
        ):
            # Each slot sees 1/24 (1/168) of the buckets, so it decays per bucket it sees.
            decay = 0.5 ** (periods / c.seasonal_half_life_buckets)
            sums[0] = sums[0] * decay + count
            sums[1] = sums[1] * decay + level

    def to_state(self) -> dict[str, object]:
        """What it has learned, JSON-serializable; the configuration is the caller's."""
        return {
            "level": self._level,
            "buckets_seen": self._buckets_seen,
            "hour_slots": [list(s) for s in self._by_hour],
            "week_hour_slots": [list(s) for s in self._by_week_hour],
            "dispersion": self._dispersion.value,
            "window_dispersion": self._window_dispersion.value,
            "window": [list(pair) for pair in self._window],
            "routine": self._routine.learning.to_state(),
            "routine_settled": self._routine.settled.to_state(),
            "routine_seen": self._routine.seen,
            "count_record": self._records.counts.to_state(),
            "ratio_record": self._records.ratios.to_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, object], config: VolumeConfig) -> VolumeSurgeDetector:
        """Continue from :meth:`to_state` output with ``config``."""
        detector = cls(config)
        level = state["level"]
        detector._level = None if level is None else number(level)
        detector._buckets_seen = integer(state["buckets_seen"])
        if "hour_slots" in state:
            detector._by_hour = pairs(state["hour_slots"], _HOURS_PER_DAY)
            detector._by_week_hour = pairs(state["week_hour_slots"], _HOURS_PER_WEEK)
        else:  # written before the slots were weighted: [sum of ratios, buckets] each
            weight = detector._level or 1.0
            for slots, key, length in (
                (detector._by_hour, "by_hour", _HOURS_PER_DAY),
                (detector._by_week_hour, "by_week_hour", _HOURS_PER_WEEK),
            ):
                slots[:] = [[r * weight, n * weight] for r, n in pairs(state[key], length)]
        detector._dispersion.value = number(state["dispersion"])
        detector._window_dispersion.value = number(state["window_dispersion"])
        window = state["window"]
        if not isinstance(window, list):
            raise ValueError("expected a list of (count, expected) pairs")
        detector._window.extend((n, e) for n, e in (pairs(window, len(window))))
        routine = state["routine"]
        if not isinstance(routine, list):
            raise ValueError("expected the routine surprise histogram")
        detector._routine.learning.load([number(value) for value in routine])
        settled = state.get("routine_settled")
        if settled is None:  # written before the settled histogram
            detector._routine.start_settled()
        elif isinstance(settled, list):
            detector._routine.settled.load([number(value) for value in settled])
            detector._routine.seen = integer(state["routine_seen"])
        else:
            raise ValueError("expected the settled routine histogram")
        if "count_record" in state:  # else written before the records: they start empty
            detector._records.counts.load(state["count_record"])
            detector._records.ratios.load(state["ratio_record"])
        return detector
