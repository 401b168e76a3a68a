"""Streaming univariate anomaly scorer: pattern novelty against a bounded prototype memory.

Each point is scored from the points before it and itself only, with constant work and memory:

1. The last ``window`` values form a pattern vector.
2. The pattern is compared (root-mean-square distance, in units of the range of values seen so
   far, so the detector is scale-free) with at most ``max_prototypes`` prototype patterns.
   Close enough (``<= radius``) -> the nearest prototype learns it; otherwise the pattern
   becomes a new prototype (the least used one is forgotten when memory is full).
3. Novelty ``= distance / radius``, divided by ``1 + novelty_rate_discount * rate`` where
   ``rate`` is the recent share (over about ``novelty_rate_points`` points) of patterns that
   became new prototypes: where new shapes keep appearing, one more is weaker evidence.
   A value beyond the range seen so far is novel too: its excess, in units of
   ``range_break`` times the previous range, competes with the pattern novelty (the larger
   wins). So does a sustained level shift (:mod:`.level_shift`): the median of the last
   ``shift_run_points`` values outside the trimmed band of the ``shift_reference_points``
   values before them, in units of ``shift_break`` band widths. It catches shifts that are
   large for the series' recent behaviour but small against a range once stretched by a far
   bigger excursion. So, for timestamped points, does a sustained shift of the series against
   itself one day and one week earlier (:mod:`.seasonal`), where seasonality explains most of
   its band. And so does a sustained rise in volatility (:mod:`.volatility`): the median of the
   last ``shift_run_points`` absolute point-to-point changes above the
   [``volatility_quantile``, 1 - ``volatility_quantile``] band of the changes before them, in
   units of ``volatility_break`` band widths: a calm series turning agitated inside its usual
   range. ``score = novelty / (novelty + 1)``, so a novelty scores >= 0.5 and a familiar
   pattern < 0.5.
4. Reporting discipline (what NAB-style evaluation and on-call humans both reward): a novelty
   is only reported (kept >= 0.5) if the model had been stable for ``quiet_points`` (no new
   prototype), otherwise it is part of a noisy regime; after a report, scores are damped for
   ``cooldown_points`` so one incident raises one alarm. A new pattern whose novelty is at
   least ``breakthrough_ratio`` times the last reported one breaks through both rules: a
   much bigger event inside a noisy regime or an incident is still news.

No labels, no per-series tuning: every threshold is relative to the series' own range, its own
recent values, its own rate of new shapes or its own last report.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime

from services.alert.level_shift import LevelShiftNovelty
from services.alert.seasonal import SeasonalShiftNovelty
from services.alert.volatility import VolatilityShiftNovelty

_REPORT_LEVEL = 0.5  # score of a novelty exactly at the radius
_SUPPRESSED_CAP = 0.49  # a suppressed novelty never reaches the report level
_STATE_VERSION = 5
_READABLE_VERSIONS = (1, 2, 3, 4, _STATE_VERSION)


@dataclass(frozen=True)
class DetectorConfig:
    """Hyper-parameters; every one is in units of points or of the observed range.

    window: pattern length; short enough to react within a few points, long enough to see shape.
    radius: how far (fraction of the observed range, RMS) a pattern may be from every known
        one before it is novel.
    max_prototypes: memory bound (``max_prototypes * window`` floats).
    min_learning_rate: prototypes keep following slow drift.
    warmup_points: no scores before the range and the memory mean something.
    quiet_points: a novelty counts only after this many points without one.
    cooldown_points: scores are damped this long after a reported novelty.
    cooldown_damping: factor applied to scores during the cooldown.
    range_break: a value beyond the range seen so far by this fraction of that range scores
        the report level (0 disables the range check).
    breakthrough_ratio: a new pattern with this many times the last reported novelty is
        reported even in a noisy regime or during the cooldown (0 disables).
    shift_break: a run whose median lies this many band widths outside the recent band
        scores the report level (0 disables the level-shift check).
    shift_run_points: length of the run; its median must move, so a lone spike does not.
    shift_reference_points: how many values before the run form the band.
    shift_quantile: the band is the [q, 1 - q] quantile range of the reference, so a few
        outliers in it do not widen it.
    novelty_rate_discount: how much a high recent rate of new prototypes weakens the pattern
        novelty (0 disables).
    novelty_rate_points: time constant, in points, of that rate (an exponential average).
    season_break: a run of residuals against the same time one day or one week earlier whose
        median lies this many residual-band widths outside their band scores the report level
        (0 disables the seasonal check; it also needs the level-shift check and timestamps).
    season_history_points: timestamped values kept for those lags (a week of 5-minute points).
    season_gate: the seasonal check speaks only where the residuals' band is at most this
        fraction of the values' own band.
    volatility_break: a run of absolute point-to-point changes whose median lies this many
        band widths above their recent band scores the report level (0 disables the check; it
        uses the shift_* run and reference lengths).
    volatility_quantile: the changes' band is their [q, 1 - q] quantile range; wider trimming
        than the level shift's because occasional big changes are ordinary.
    """

    window: int = 8
    radius: float = 0.12
    max_prototypes: int = 64
    min_learning_rate: float = 0.02
    warmup_points: int = 150
    quiet_points: int = 10
    cooldown_points: int = 100
    cooldown_damping: float = 0.3
    range_break: float = 0.01
    breakthrough_ratio: float = 3.0
    shift_break: float = 0.5
    shift_run_points: int = 5
    shift_reference_points: int = 1000
    shift_quantile: float = 0.01
    novelty_rate_discount: float = 2.0
    novelty_rate_points: int = 1000
    season_break: float = 0.5
    season_history_points: int = 2100
    season_gate: float = 0.5
    volatility_break: float = 0.5
    volatility_quantile: float = 0.05

    def __post_init__(self) -> None:
        if self.window < 1 or self.max_prototypes < 1:
            raise ValueError("window and max_prototypes must be >= 1")
        if self.radius <= 0 or not 0 < self.min_learning_rate <= 1:
            raise ValueError("radius must be > 0 and min_learning_rate in (0, 1]")
        if min(self.warmup_points, self.quiet_points, self.cooldown_points) < 0:
            raise ValueError("point counts must be >= 0")
        if not 0 <= self.cooldown_damping <= 1:
            raise ValueError("cooldown_damping must be in [0, 1]")
        if self.range_break < 0:
            raise ValueError("range_break must be >= 0")
        if self.breakthrough_ratio != 0 and self.breakthrough_ratio < 1:
            raise ValueError("breakthrough_ratio must be 0 (off) or >= 1")
        if self.shift_break < 0 or self.novelty_rate_discount < 0:
            raise ValueError("shift_break and novelty_rate_discount must be >= 0")
        if self.novelty_rate_points < 1:
            raise ValueError("novelty_rate_points must be >= 1")
        if self.shift_break > 0:
            self.level_shift()  # validates the other shift_* settings
        if self.season_break < 0:
            raise ValueError("season_break must be >= 0")
        if self.season_break > 0:
            self.seasonal_shift()  # validates the other season_* settings
        if self.volatility_break < 0:
            raise ValueError("volatility_break must be >= 0")
        if self.volatility_break > 0:
            self.volatility_shift()  # validates volatility_quantile with the run settings

    def level_shift(self) -> LevelShiftNovelty | None:
        """A fresh level-shift check with these settings (None when it is disabled)."""
        if self.shift_break == 0:
            return None
        return self._run_test(self.shift_break)

    def seasonal_shift(self) -> SeasonalShiftNovelty | None:
        """A fresh seasonal check with these settings (None when it or the level-shift check
        it compares against is disabled)."""
        if self.season_break == 0 or self.shift_break == 0:
            return None
        residuals = self._run_test(self.season_break)
        return SeasonalShiftNovelty(self.season_history_points, residuals, self.season_gate)

    def volatility_shift(self) -> VolatilityShiftNovelty | None:
        """A fresh volatility check with these settings (None when it is disabled)."""
        if self.volatility_break == 0:
            return None
        return VolatilityShiftNovelty(
            self.shift_run_points,
            self.shift_reference_points,
            self.volatility_quantile,
            self.volatility_break,
        )

    def _run_test(self, break_fraction: float) -> LevelShiftNovelty:
        """The run-against-band test with the shift_* settings, in units of `break_fraction`."""
        return LevelShiftNovelty(
            self.shift_run_points, self.shift_reference_points, self.shift_quantile, break_fraction
        )


class StreamingAnomalyDetector:
    """Anomaly score in [0, 1] for each new value of one series; O(1) time and memory."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self._seen = 0
        self._low = math.inf
        self._high = -math.inf
        self._recent: list[float] = []
        self._prototypes: list[list[float]] = []
        self._uses: list[int] = []
        self._since_novel = self.config.quiet_points  # the first novelty may count
        self._cooldown = 0
        self._last_report: float | None = None  # the last reported novelty
        self._level_shift = self.config.level_shift()
        self._seasonal_shift = self.config.seasonal_shift()
        self._volatility_shift = self.config.volatility_shift()
        self._novel_rate = 0.0  # exponential average of "this pattern became a prototype"

    def score(self, value: float, timestamp: datetime | None = None) -> float:
        """Score ``value`` (the next point of the series) and learn from it.

        ``timestamp`` feeds the seasonal check only; without it the score depends on the order
        of the points alone.
        """
        if not math.isfinite(value):
            raise ValueError(f"value must be finite, got {value!r}")
        c = self.config
        # Judged against the values before this one: beyond their range, a sustained shift,
        # or sustained agitation.
        level_novelty = max(
            self._range_novelty(value),
            self._shift_novelty(value),
            self._seasonal_novelty(value, timestamp),
            self._volatility_novelty(value),
        )
        self._recent.append(value)
        if len(self._recent) > c.window:
            del self._recent[0]
        self._low = min(self._low, value)
        self._high = max(self._high, value)
        span = self._high - self._low
        if span <= 0.0:
            span = max(abs(self._high), 1.0) * 1e-6

        novelty, novel, quiet = 0.0, False, True
        if len(self._recent) == c.window:
            novelty, novel = self._match_and_learn(self._recent, span)
            quiet = self._since_novel >= c.quiet_points
            self._since_novel = 0 if novel else self._since_novel + 1
            novelty /= 1.0 + c.novelty_rate_discount * self._novel_rate
            self._novel_rate += (float(novel) - self._novel_rate) / c.novelty_rate_points
        novelty = max(novelty, level_novelty)

        result = 0.0
        if self._seen >= c.warmup_points:
            result = novelty / (novelty + 1.0)
            if novel and result >= _REPORT_LEVEL and self._breaks_through(novelty):
                quiet, self._cooldown = True, 0
            if novel and not quiet:
                result = min(result, _SUPPRESSED_CAP) * c.cooldown_damping
        if self._cooldown > 0:
            self._cooldown -= 1
            result *= c.cooldown_damping
        elif result >= _REPORT_LEVEL:
            self._cooldown = c.cooldown_points
            self._last_report = novelty
        self._seen += 1
        return result

    def _range_novelty(self, value: float) -> float:
        """How far ``value`` lies outside the range seen before it, in units of ``range_break``."""
        span = self._high - self._low
        if self.config.range_break <= 0 or not span > 0:
            return 0.0
        excess = max(value - self._high, self._low - value, 0.0) / span
        return excess / self.config.range_break

    def _shift_novelty(self, value: float) -> float:
        """Level-shift novelty of the run ending at ``value`` (0 when the check is disabled)."""
        if self._level_shift is None:
            return 0.0
        return self._level_shift.update(value, self._min_band())

    def _seasonal_novelty(self, value: float, timestamp: datetime | None) -> float:
        """Novelty of the residual run against one day and one week earlier (0 when off)."""
        if self._seasonal_shift is None or self._level_shift is None or timestamp is None:
            return 0.0
        value_band = self._level_shift.band()
        return self._seasonal_shift.update(timestamp, value, value_band, self._min_band())

    def _volatility_novelty(self, value: float) -> float:
        """Novelty of the run of changes ending at ``value`` (0 when the check is disabled)."""
        if self._volatility_shift is None:
            return 0.0
        return self._volatility_shift.update(value, self._min_band())

    def _min_band(self) -> float:
        """A band narrower than 0.1% of the range is a flat stretch, not a precise baseline."""
        return (self._high - self._low) * 1e-3 if self._seen else 0.0

    def _breaks_through(self, novelty: float) -> bool:
        ratio = self.config.breakthrough_ratio
        return ratio > 0 and self._last_report is not None and novelty > self._last_report * ratio

    def _match_and_learn(self, pattern: list[float], span: float) -> tuple[float, bool]:
        """Novelty of ``pattern`` (distance / radius) and whether it became a new prototype."""
        c = self.config
        best, best_index = math.inf, -1
        for index, prototype in enumerate(self._prototypes):
            squared = 0.0
            for a, b in zip(pattern, prototype, strict=True):
                squared += (a - b) * (a - b)
            if squared < best:
                best, best_index = squared, index
        if best_index < 0:
            self._prototypes.append(list(pattern))
            self._uses.append(1)
            return 0.0, False
        distance = math.sqrt(best / c.window) / span
        if distance <= c.radius:
            self._uses[best_index] += 1
            rate = max(1.0 / self._uses[best_index], c.min_learning_rate)
            prototype = self._prototypes[best_index]
            for j, a in enumerate(pattern):
                prototype[j] += rate * (a - prototype[j])
            return distance / c.radius, False
        if len(self._prototypes) >= c.max_prototypes:
            forget = min(range(len(self._uses)), key=self._uses.__getitem__)
            del self._prototypes[forget]
            del self._uses[forget]
        self._prototypes.append(list(pattern))
        self._uses.append(1)
        return distance / c.radius, True

    def to_state(self) -> dict[str, object]:
        """JSON-serializable state (including the configuration)."""
        return {
            "version": _STATE_VERSION,
            "config": asdict(self.config),
            "seen": self._seen,
            "low": self._low if self._seen else None,
            "high": self._high if self._seen else None,
            "recent": list(self._recent),
            "prototypes": [list(p) for p in self._prototypes],
            "uses": list(self._uses),
            "since_novel": self._since_novel,
            "cooldown": self._cooldown,
            "last_report": self._last_report,
            "novel_rate": self._novel_rate,
            "level_shift": None if self._level_shift is None else self._level_shift.to_state(),
            "seasonal": None if self._seasonal_shift is None else self._seasonal_shift.to_state(),
            "volatility": (
                None if self._volatility_shift is None else self._volatility_shift.to_state()
            ),
        }

    @classmethod
    def from_state(cls, state: dict[str, object]) -> StreamingAnomalyDetector:
        """Rebuild a detector from :meth:`to_state` output; it continues exactly where it was.

        A version 1 state (before the range check and the breakthrough rule) is read with
        those two rules at their defaults and no report remembered; a version 1 or 2 state
        (before the level-shift check and the novelty-rate discount) starts them afresh: an
        empty reference and a rate of 0. Before version 4 there was no seasonal check: it
        starts with an empty history; before version 5 there was no volatility check: it
        starts with no previous value and an empty reference.
        """
        version = state.get("version")
        if version not in _READABLE_VERSIONS:
            raise ValueError(f"unsupported detector state version: {version!r}")
        config = state["config"]
        if not isinstance(config, dict):
            raise ValueError("detector state has no config")
        detector = cls(DetectorConfig(**config))
        detector._seen = _int(state["seen"])
        if detector._seen:
            detector._low = _float(state["low"])
            detector._high = _float(state["high"])
        detector._recent = _floats(state["recent"])
        prototypes = state["prototypes"]
        if not isinstance(prototypes, list):
            raise ValueError("prototypes must be a list")
        detector._prototypes = [_floats(p) for p in prototypes]
        uses = state["uses"]
        if not isinstance(uses, list) or len(uses) != len(prototypes):
            raise ValueError("uses must match prototypes")
        detector._uses = [_int(u) for u in uses]
        detector._since_novel = _int(state["since_novel"])
        detector._cooldown = _int(state["cooldown"])
        last_report = state.get("last_report")
        detector._last_report = None if last_report is None else _float(last_report)
        detector._novel_rate = _float(state.get("novel_rate", 0.0))
        level_shift = state.get("level_shift")
        if detector._level_shift is not None and isinstance(level_shift, dict):
            detector._level_shift.load_state(
                _floats(level_shift.get("run")), _floats(level_shift.get("reference"))
            )
        seasonal = state.get("seasonal")
        if detector._seasonal_shift is not None and isinstance(seasonal, dict):
            residuals = seasonal.get("residuals")
            if not isinstance(residuals, dict):
                raise ValueError("seasonal state lacks its residuals")
            detector._seasonal_shift.load_state(
                _floats(seasonal.get("times")),
                _floats(seasonal.get("values")),
                _floats(residuals.get("run")),
                _floats(residuals.get("reference")),
            )
        volatility = state.get("volatility")
        if detector._volatility_shift is not None and isinstance(volatility, dict):
            previous = volatility.get("previous")
            detector._volatility_shift.load_state(
                None if previous is None else _float(previous),
                _floats(volatility.get("run")),
                _floats(volatility.get("reference")),
            )
        return detector


def _float(value: object) -> float:
    if not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _floats(value: object) -> list[float]:
    if not isinstance(value, list):
        raise ValueError(f"expected a list of numbers, got {value!r}")
    return [_float(v) for v in value]


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value
