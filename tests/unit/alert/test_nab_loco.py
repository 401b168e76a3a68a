"""Scoring at a given threshold, the leave-one-group-out check and subsets (benchmarks/nab)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from benchmarks.nab.loco import candidate_configs, file_of, leave_one_group_out
from benchmarks.nab.runner import bucket_width, data_files
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
    pooled, held_out = leave_one_group_out({"noisy": noisy, "quiet": quiet}, counts, STANDARD)
    chosen = {item.group: item.candidate for item in held_out}
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


def test_each_held_out_file_is_scored_with_the_choice_made_on_the_other_files() -> None:
    # One category, so holding out categories would leave nothing to choose on. "early"
    # detects each window sooner than "late" but has false positives in 2.csv: chosen only
    # when 2.csv is held out, where it then pays for them.
    keys = ("a/1.csv", "a/2.csv", "a/3.csv")
    late = {key: _points(key, {550: 0.9}) for key in keys}
    early = {key: _points(key, {505: 0.9}) for key in keys}
    early["a/2.csv"] = _points("a/2.csv", {505: 0.9} | dict.fromkeys((200, 300, 400, 450), 0.95))
    counts = dict.fromkeys(keys, 1)
    _, held_out = leave_one_group_out({"early": early, "late": late}, counts, STANDARD, file_of)
    chosen = {item.group: item.candidate for item in held_out}
    assert chosen == {"a/1.csv": "late", "a/2.csv": "early", "a/3.csv": "late"}
    assert held_out[1].result["false_positives"] == 4


def test_a_subset_runs_only_its_files(tmp_path: Path) -> None:
    for key in ("realKnownCause/nyc_taxi.csv", "realKnownCause/machine_temperature.csv"):
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_text("timestamp,value\n")
    assert data_files(tmp_path) == [
        "realKnownCause/machine_temperature.csv",
        "realKnownCause/nyc_taxi.csv",
    ]
    assert data_files(tmp_path, "count-like") == ["realKnownCause/nyc_taxi.csv"]


def test_a_file_is_bucketed_at_its_median_row_spacing() -> None:
    minutes = [0, 5, 10, 15, 20, 60, 65, 66]  # a gap and a stray row
    assert bucket_width([T0 + timedelta(minutes=m) for m in minutes]) == timedelta(minutes=5)
