"""NAB scoring on hand-made windows (benchmarks/nab/scoring.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from benchmarks.nab.scoring import PROFILES, probationary_length, score_corpus

T0 = datetime(2020, 1, 1)


def _timestamps(n: int) -> list[datetime]:
    return [T0 + timedelta(minutes=5 * i) for i in range(n)]


Scored = dict[str, tuple[list[datetime], list[float]]]
Windows = dict[str, list[tuple[datetime, datetime]]]


def _corpus() -> tuple[Scored, Windows]:
    ts = _timestamps(1000)
    windows = {
        "a/one.csv": [(ts[400], ts[449]), (ts[700], ts[749])],
        "a/two.csv": [(ts[500], ts[599])],
    }
    return {"a/one.csv": (ts, []), "a/two.csv": (ts, [])}, windows


def _with_scores(detections: dict[str, set[int]]) -> Scored:
    files, _ = _corpus()
    return {
        key: (ts, [1.0 if i in detections.get(key, set()) else 0.0 for i in range(len(ts))])
        for key, (ts, _) in files.items()
    }


def test_perfect_detector_scores_100_on_every_profile() -> None:
    _, windows = _corpus()
    results = score_corpus(_with_scores({"a/one.csv": {400, 700}, "a/two.csv": {500}}), windows)
    assert [r.normalized for r in results] == pytest.approx([100.0] * len(PROFILES))


def test_null_detector_scores_0_on_every_profile() -> None:
    _, windows = _corpus()
    results = score_corpus(_with_scores({}), windows)
    assert [r.normalized for r in results] == pytest.approx([0.0] * len(PROFILES))


def test_late_detection_earns_less_than_early_and_false_positives_cost() -> None:
    _, windows = _corpus()
    early = score_corpus(_with_scores({"a/one.csv": {400}}), windows)[0].normalized
    late = score_corpus(_with_scores({"a/one.csv": {440}}), windows)[0].normalized
    assert early > late > 0.0
    with_fp = score_corpus(_with_scores({"a/one.csv": {400, 300}}), windows)[0]
    assert with_fp.normalized < early or with_fp.threshold > 1.0


def test_detections_in_probationary_period_are_ignored() -> None:
    _, windows = _corpus()
    assert probationary_length(1000) == 150
    assert probationary_length(100_000) == 750
    base = score_corpus(_with_scores({"a/one.csv": {400}}), windows)[0].raw
    with_probation = score_corpus(_with_scores({"a/one.csv": {400, 10}}), windows)[0].raw
    assert with_probation == pytest.approx(base)
