"""Behaviour of the streaming anomaly scorer (services/alert/detector.py)."""

from __future__ import annotations

import json
import math
import random

from services.alert.detector import StreamingAnomalyDetector


def _series(length: int, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [10.0 + 3.0 * math.sin(i / 12.0) + rng.gauss(0.0, 0.3) for i in range(length)]


def _scores(values: list[float], detector: StreamingAnomalyDetector | None = None) -> list[float]:
    detector = detector or StreamingAnomalyDetector()
    return [detector.score(v) for v in values]


def test_score_at_t_is_unchanged_when_later_points_change() -> None:
    values = _series(600)
    changed = values[:400] + [v * 5.0 + 100.0 for v in values[400:]]
    assert _scores(values)[:400] == _scores(changed)[:400]


def test_same_input_gives_same_scores() -> None:
    values = _series(800)
    assert _scores(values) == _scores(values)


def test_scores_stay_in_unit_interval() -> None:
    rng = random.Random(3)
    values = _series(2000) + [rng.uniform(-1e6, 1e6) for _ in range(500)] + [0.0] * 300
    assert all(0.0 <= s <= 1.0 for s in _scores(values))


def test_state_size_is_bounded_after_100k_points() -> None:
    detector = StreamingAnomalyDetector()
    rng = random.Random(11)
    sizes = []
    for i in range(100_000):
        detector.score(rng.gauss(0.0, 1.0) + (i % 500) * 0.01)
        if i in (10_000, 99_999):
            sizes.append(len(json.dumps(detector.to_state())))
    config = detector.config
    assert len(detector.to_state()["prototypes"]) <= config.max_prototypes  # type: ignore[arg-type]
    assert sizes[1] <= sizes[0] * 1.5


def test_state_round_trip_continues_with_identical_scores() -> None:
    values = _series(1500)
    values[1200] += 40.0
    original = StreamingAnomalyDetector()
    _scores(values[:1000], original)
    restored = StreamingAnomalyDetector.from_state(json.loads(json.dumps(original.to_state())))
    assert _scores(values[1000:], restored) == _scores(values[1000:], original)


def test_level_spike_scores_higher_than_normal_points() -> None:
    values = _series(1000)
    values[800] += 30.0
    scores = _scores(values)
    assert scores[800] >= 0.5
    assert max(scores[300:790]) < scores[800]
