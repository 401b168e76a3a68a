"""Streaming univariate anomaly scorer: pattern novelty against a bounded prototype memory.

Each point is scored from the points before it and itself only, with constant work and memory:

1. The last ``window`` values form a pattern vector.
2. The pattern is compared (root-mean-square distance, in units of the range of values seen so
   far, so the detector is scale-free) with at most ``max_prototypes`` prototype patterns.
   Close enough (``<= radius``) -> the nearest prototype learns it; otherwise the pattern
   becomes a new prototype (the least used one is forgotten when memory is full).
3. Novelty ``= distance / radius``. A value beyond the range seen so far is novel too: its
   excess, in units of ``range_break`` times the previous range, competes with the pattern
   novelty (the larger wins). ``score = novelty / (novelty + 1)``, so a novelty scores >= 0.5
   and a familiar pattern < 0.5.
4. Reporting discipline (what NAB-style evaluation and on-call humans both reward): a novelty
   is only reported (kept >= 0.5) if the model had been stable for ``quiet_points`` (no new
   prototype), otherwise it is part of a noisy regime; after a report, scores are damped for
   ``cooldown_points`` so one incident raises one alarm. A new pattern whose novelty is at
   least ``breakthrough_ratio`` times the last reported one breaks through both rules: a
   much bigger event inside a noisy regime or an incident is still news.

No labels, no per-series tuning: every threshold is relative to the series' own range or to the
series' own last report.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime

_REPORT_LEVEL = 0.5  # score of a novelty exactly at the radius
_SUPPRESSED_CAP = 0.49  # a suppressed novelty never reaches the report level
_STATE_VERSION = 2


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

    def score(self, value: float, timestamp: datetime | None = None) -> float:
        """Score ``value`` (the next point of the series) and learn from it.

        ``timestamp`` is accepted for API stability; the score depends on the order of points only.
        """
        if not math.isfinite(value):
            raise ValueError(f"value must be finite, got {value!r}")
        c = self.config
        range_novelty = self._range_novelty(value)
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
        novelty = max(novelty, range_novelty)

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
        }

    @classmethod
    def from_state(cls, state: dict[str, object]) -> StreamingAnomalyDetector:
        """Rebuild a detector from :meth:`to_state` output; it continues exactly where it was.

        A version 1 state (before the range check and the breakthrough rule) is read with
        those two rules at their defaults and no report remembered.
        """
        version = state.get("version")
        if version not in (1, _STATE_VERSION):
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
