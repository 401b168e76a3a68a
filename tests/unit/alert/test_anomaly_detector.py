"""Behaviour of the streaming anomaly scorer (services/alert/detector.py)."""

from __future__ import annotations

import json
import math
import random

import pytest

from services.alert.detector import DetectorConfig, StreamingAnomalyDetector
from services.alert.level_shift import LevelShiftNovelty
from tests.unit.alert.older_states import as_written_by_version

NEW_IN_VERSION_2 = ("range_break", "breakthrough_ratio")
NEW_IN_VERSION_3 = (
    "shift_break",
    "shift_run_points",
    "shift_reference_points",
    "shift_quantile",
    "novelty_rate_discount",
    "novelty_rate_points",
)


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


def test_state_size_is_bounded_after_40k_points() -> None:
    detector = StreamingAnomalyDetector()
    rng = random.Random(11)
    sizes = []
    for i in range(40_000):
        detector.score(rng.gauss(0.0, 1.0) + (i % 500) * 0.01)
        if i in (10_000, 39_999):
            sizes.append(len(json.dumps(detector.to_state())))
    config = detector.config
    assert len(detector.to_state()["prototypes"]) <= config.max_prototypes  # type: ignore[arg-type]
    assert sizes[1] <= sizes[0] * 1.5


def test_state_round_trip_continues_with_identical_scores() -> None:
    values = _series(1500)
    values[600] += 20.0  # reported before the snapshot: the state remembers a report
    values[1200] += 40.0
    original = StreamingAnomalyDetector()
    before = _scores(values[:1000], original)
    assert max(before[550:]) >= 0.5
    restored = StreamingAnomalyDetector.from_state(json.loads(json.dumps(original.to_state())))
    assert _scores(values[1000:], restored) == _scores(values[1000:], original)


def test_state_of_version_1_is_still_readable() -> None:
    detector = StreamingAnomalyDetector()
    _scores(_series(300), detector)
    state = as_written_by_version(
        detector.to_state(), 1, without_state={"last_report"}, without_config=NEW_IN_VERSION_2
    )
    restored = StreamingAnomalyDetector.from_state(state)
    assert restored.config == DetectorConfig()
    assert 0.0 <= restored.score(11.0) <= 1.0


def test_level_spike_scores_higher_than_normal_points() -> None:
    values = _series(1000)
    values[800] += 30.0
    scores = _scores(values)
    assert scores[800] >= 0.5
    assert max(scores[300:790]) < scores[800]


def test_value_beyond_the_seen_range_is_reported_even_when_its_shape_is_familiar() -> None:
    # A square wave: every pattern shape is learnt early; then the high level rises by a
    # fifth of the range, which no window of the old pattern memory is far enough from.
    values = [0.0 if (i // 20) % 2 else 10.0 for i in range(1000)]
    values[700:720] = [12.0] * 20
    without_range = DetectorConfig(range_break=0.0)
    assert _scores(values)[700] >= 0.5
    assert _scores(values, StreamingAnomalyDetector(without_range))[700] < 0.5


def test_much_bigger_event_during_cooldown_is_reported_again() -> None:
    values = _series(1000)
    values[700] += 8.0
    values[720] += 60.0  # inside the cooldown of the first report, far stronger
    scores = _scores(values)
    assert scores[700] >= 0.5
    assert scores[720] >= 0.5
    no_breakthrough = StreamingAnomalyDetector(DetectorConfig(breakthrough_ratio=0.0))
    assert _scores(values, no_breakthrough)[720] < 0.5


def test_one_incident_raises_one_report() -> None:
    values = [10.0 + 3.0 * math.sin(i / 12.0) for i in range(1200)]
    for i in range(800, 830):
        values[i] += 6.0  # a level shift lasting 30 points
    scores = _scores(values)
    assert sum(1 for s in scores[150:800] if s >= 0.5) == 0
    assert sum(1 for s in scores[800:900] if s >= 0.5) == 1


def _calm_after_one_huge_spike(length: int, seed: int = 5) -> list[float]:
    """Noise around 10; one early spike to 200 stretches the range seen so far twentyfold."""
    rng = random.Random(seed)
    values = [10.0 + rng.gauss(0.0, 0.3) for _ in range(length)]
    values[200] = 200.0
    return values


def test_sustained_shift_small_against_an_old_wide_range_is_reported() -> None:
    values = _calm_after_one_huge_spike(2000)
    for i in range(1500, 1600):
        values[i] += 4.0  # far outside the recent band, tiny against the range 10..200
    without_shift = StreamingAnomalyDetector(DetectorConfig(shift_break=0.0))
    assert max(_scores(values)[1500:1510]) >= 0.5
    assert max(_scores(values, without_shift)[1500:1600]) < 0.5
    assert max(_scores(values)[400:1500]) < 0.5  # the calm stretch raises nothing


def test_level_shift_needs_most_of_the_run_not_a_lone_spike() -> None:
    rng = random.Random(2)
    check = LevelShiftNovelty(run_points=5, reference_points=500, quantile=0.01, break_fraction=1)
    for _ in range(600):
        check.update(rng.gauss(0.0, 1.0), min_band=0.0)
    assert check.update(50.0, min_band=0.0) == 0.0  # the run's median ignores one spike
    novelties = [check.update(8.0, min_band=0.0) for _ in range(4)]
    assert novelties[0] == 0.0  # two of five values shifted: not yet a shift
    assert novelties[1] > 0.5  # three of five: the median has moved well outside the band


def test_frequent_new_shapes_weaken_pattern_novelty() -> None:
    # Every 60 points a short bump of random height: new shapes keep appearing, so each one
    # is weaker evidence, and the detector that discounts by that rate reports fewer of them.
    rng = random.Random(0)
    values = _series(4000, seed=0)
    for start in range(300, 4000, 60):
        height = rng.uniform(-8.0, 8.0)
        for i in range(start, start + 3):
            values[i] += height
    detector = StreamingAnomalyDetector()
    plain = StreamingAnomalyDetector(DetectorConfig(novelty_rate_discount=0.0))
    reports = sum(1 for s in _scores(values, detector) if s >= 0.5)
    plain_reports = sum(1 for s in _scores(values, plain) if s >= 0.5)
    assert detector.to_state()["novel_rate"] > 0.005  # type: ignore[operator]
    assert 0 < reports < plain_reports


def test_state_of_version_2_is_read_with_fresh_level_shift_and_rate() -> None:
    detector = StreamingAnomalyDetector()
    _scores(_series(1200), detector)
    state = as_written_by_version(
        detector.to_state(),
        2,
        without_state={"level_shift", "novel_rate"},
        without_config=NEW_IN_VERSION_3,
    )
    restored = StreamingAnomalyDetector.from_state(state)
    assert restored.config == DetectorConfig()
    assert restored.to_state()["level_shift"] == {"run": [], "reference": []}
    assert 0.0 <= restored.score(11.0) <= 1.0


@pytest.mark.parametrize(
    "settings",
    [
        {"shift_break": -0.1},
        {"shift_quantile": 0.5},
        {"shift_reference_points": 10},
        {"shift_run_points": 0},
        {"novelty_rate_discount": -1.0},
        {"novelty_rate_points": 0},
    ],
)
def test_invalid_new_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DetectorConfig(**settings)  # type: ignore[arg-type]
