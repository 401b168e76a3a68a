"""Two ways to add a teacher's distribution to the served (student's) one, chosen on dev.

* blend: `(1 - w) x student + w x teacher` for every message;
* cascade: the student's distribution where its top probability reaches `threshold`, the
  blend elsewhere; only those messages would pay for the teacher's forward pass (threshold 0
  sends none, so the cascade falls back to the student where the teacher does not help).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from training.classify.exemplars import Metric, score

TEACHER_WEIGHTS = tuple(round(0.05 * i, 2) for i in range(21))
THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)

Distribution = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BlendChoice:
    weight: float  # the teacher's share
    dev_score: float


@dataclass(frozen=True)
class CascadePoint:
    threshold: float
    routed_fraction: float  # of messages whose student top probability is below threshold
    dev_score: float


def blend(student: Distribution, teacher: Distribution, weight: float) -> Distribution:
    return np.asarray((1.0 - weight) * student + weight * teacher, dtype=np.float32)


def routed(student: Distribution, threshold: float) -> npt.NDArray[np.bool_]:
    """The messages the student is unsure of: its top probability below `threshold`."""
    return np.asarray(student.max(axis=1) < threshold)


def cascade(student: Distribution, fallback: Distribution, threshold: float) -> Distribution:
    return np.where(routed(student, threshold)[:, None], fallback, student).astype(np.float32)


def choose_blend(
    student: Distribution, teacher: Distribution, gold: npt.NDArray[np.int64], metric: Metric
) -> BlendChoice:
    """The teacher share with the best dev `metric`; ties go to the higher log-likelihood."""
    best: tuple[tuple[float, float], float] | None = None
    for weight in TEACHER_WEIGHTS:
        mixed = blend(student, teacher, weight)
        log_likelihood = float(np.mean(np.log(mixed[np.arange(len(gold)), gold] + 1e-7)))
        rank = (score(mixed, gold, metric), log_likelihood)
        if best is None or rank > best[0]:
            best = (rank, weight)
    assert best is not None  # the grid is not empty
    return BlendChoice(weight=best[1], dev_score=round(best[0][0], 4))


def cascade_curve(
    student: Distribution, fallback: Distribution, gold: npt.NDArray[np.int64], metric: Metric
) -> list[CascadePoint]:
    return [
        CascadePoint(
            threshold=threshold,
            routed_fraction=round(float(routed(student, threshold).mean()), 4),
            dev_score=round(score(cascade(student, fallback, threshold), gold, metric), 4),
        )
        for threshold in THRESHOLDS
    ]


def choose_cascade(curve: list[CascadePoint]) -> CascadePoint:
    """The best dev score; ties go to the point that routes fewer messages (cheaper)."""
    return max(curve, key=lambda p: (p.dev_score, -p.routed_fraction))


def max_routed_fraction(
    engine_ms: float, teacher_ms: float, *, bench_ratio: float, target: float
) -> float:
    """The largest share of messages that may also pay the teacher's forward pass while the
    engine's throughput ratio stays at `target`: the benchmark's ratio scales with the
    engine's time per message, bench_ratio x e / (e + f x t) >= target."""
    return max(0.0, engine_ms * (bench_ratio / target - 1.0) / teacher_ms)


def choose_joint_cascade(
    curves: Mapping[str, Sequence[CascadePoint]], max_routed: float
) -> dict[str, CascadePoint]:
    """One threshold per task with the best summed dev score (ties: fewer routed) among those
    whose routed fractions sum to at most `max_routed`. A message goes to the teacher when
    either task is unsure of it; the sum bounds that share from above."""
    tasks = list(curves)
    best: tuple[tuple[float, float], tuple[CascadePoint, ...]] | None = None
    for points in itertools.product(*(curves[task] for task in tasks)):
        routed_sum = sum(p.routed_fraction for p in points)
        if routed_sum > max_routed:
            continue
        rank = (sum(p.dev_score for p in points), -routed_sum)
        if best is None or rank > best[0]:
            best = (rank, points)
    if best is None:
        raise ValueError("no combination fits the budget; give each curve threshold 0")
    return dict(zip(tasks, best[1], strict=True))
