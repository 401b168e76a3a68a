"""Scoring at a given threshold and the leave-one-category-out check (benchmarks/nab)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from benchmarks.nab.loco import candidate_configs, leave_one_category_out
from benchmarks.nab.scoring import (
    PROFILES,
    LabelledPoint,
    label_points,
    score_at_threshold,
    sweep_best_threshold,
)
from services.alert.detection.volume import VolumeConfig

STANDARD = PROFILES[0]
T0 = datetime(2020, 1, 1)
TIMESTAMPS = [T0 + timedelta(minutes=5 * i) for i in range(1000)]
WINDOW = [(TIMESTAMPS[500], TIMESTAMPS[599])]


def _points(key: str, detections: dict[int, float]) -> list[LabelledPoint]:
    scores = [detections.get(i, 0.0) for i in range(len(TIMESTAMPS))]
    return label_points(key, TIMESTAMPS, scores, WINDOW)


def test_scoring_at_the_swept_threshold_gives_the_swept_score() -> None:
    points = _points("a/one.csv", {520: 0.9, 300: 0.6, 700: 0.95})
    best = sweep_best_threshold(points, STANDARD, window_count=1)
    again = score_at_threshold(points, STANDARD, 1, best.threshold)
    assert again.raw == pytest.approx(best.raw)
    assert (again.true_positives, again.false_positives) == (best.true_positives, 1)


def test_a_threshold_above_every_score_scores_the_null_detector() -> None:
    points = _points("a/one.csv", {520: 0.9})
    result = score_at_threshold(points, STANDARD, 1, threshold=1.1)
    assert result.raw == result.null == -STANDARD.fn_weight
    assert result.normalized == 0.0


def test_held_out_category_is_scored_with_the_choice_made_without_it() -> None:
    # "quiet" detects every window at 0.9 and nothing else. "noisy" also detects every window,
    # but in category b its false positives (0.95) outrank its detections, which costs it the
    # choice whenever b is in the training set.
    quiet = {key: _points(key, {510: 0.9}) for key in ("a/1.csv", "b/1.csv", "c/1.csv")}
    noisy = {
        "a/1.csv": _points("a/1.csv", {510: 0.9}),
        "b/1.csv": _points("b/1.csv", {510: 0.9, 200: 0.95, 300: 0.95, 800: 0.95}),
        "c/1.csv": _points("c/1.csv", {510: 0.9}),
    }
    counts = dict.fromkeys(quiet, 1)
    pooled, held_out = leave_one_category_out({"noisy": noisy, "quiet": quiet}, counts, STANDARD)
    chosen = {item.category: item.candidate for item in held_out}
    assert chosen["a"] == chosen["c"] == "quiet"
    assert 0.0 < pooled <= 100.0


def test_candidates_are_the_defaults_and_one_setting_varied_at_a_time() -> None:
    candidates = candidate_configs()
    default = VolumeConfig()
    assert candidates["default"] == default
    for name, config in candidates.items():
        changed = [f for f in vars(default) if getattr(config, f) != getattr(default, f)]
        assert len(changed) == (0 if name == "default" else 1), name
    assert len(set(candidates.values())) == len(candidates)  # no duplicates
