"""The seasonal level-shift check (services/alert/seasonal.py) and its place in the detector."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from services.alert.detector import DetectorConfig, StreamingAnomalyDetector
from services.alert.level_shift import LevelShiftNovelty
from services.alert.seasonal import SeasonalShiftNovelty
from tests.unit.alert.older_states import as_written_by_version, config_fields_starting

START = datetime(2026, 1, 5, tzinfo=UTC)
HOUR = timedelta(hours=1)


def daily(hours: int, seed: int = 3, flipped: range = range(0)) -> list[float]:
    """Hourly values with a daily cycle; hours in `flipped` run the cycle upside down, so
    they stay inside the usual range and trace familiar shapes at the wrong time of day."""
    rng = random.Random(seed)
    values = []
    for h in range(hours):
        cycle = 5.0 * math.sin(2 * math.pi * h / 24)
        values.append(10.0 + (-cycle if h in flipped else cycle) + rng.gauss(0.0, 0.2))
    return values


def seasonal(gate: float = 0.5) -> SeasonalShiftNovelty:
    return SeasonalShiftNovelty(2100, LevelShiftNovelty(5, 1000, 0.01, 0.5), gate)


def test_a_day_upside_down_is_novel_against_the_same_hours_before() -> None:
    flipped = range(20 * 24, 21 * 24)
    values = daily(22 * 24, flipped=flipped)
    check = seasonal()
    novelty = [
        check.update(START + h * HOUR, v, value_band=10.0, min_band=0.01)
        for h, v in enumerate(values)
    ]
    assert max(novelty[: flipped.start]) < 1.0
    assert max(novelty[flipped.start : flipped.stop]) > 3.0


def test_it_stays_silent_where_seasonality_does_not_explain_the_series() -> None:
    rng = random.Random(5)
    check = seasonal()
    novelty = [
        check.update(START + h * HOUR, rng.uniform(0.0, 10.0), value_band=10.0, min_band=0.01)
        for h in range(40 * 24)
    ]
    assert max(novelty) == 0.0  # residuals of noise are wider than half the values' band


def test_points_out_of_order_or_without_history_score_zero() -> None:
    check = seasonal()
    assert check.update(START, 1.0, value_band=1.0, min_band=0.01) == 0.0
    assert check.update(START - HOUR, 5.0, value_band=1.0, min_band=0.01) == 0.0


def test_detector_without_timestamps_scores_as_without_the_seasonal_check() -> None:
    values = daily(30 * 24, flipped=range(25 * 24, 26 * 24))
    plain = StreamingAnomalyDetector()
    off = StreamingAnomalyDetector(DetectorConfig(season_break=0.0))
    assert [plain.score(v) for v in values] == [off.score(v) for v in values]


def test_detector_reports_the_upside_down_day_only_with_the_seasonal_check() -> None:
    flipped = range(25 * 24, 27 * 24)
    values = daily(30 * 24, flipped=flipped)
    scores = {}
    for name, config in (("on", DetectorConfig()), ("off", DetectorConfig(season_break=0.0))):
        detector = StreamingAnomalyDetector(config)
        scores[name] = [detector.score(v, START + h * HOUR) for h, v in enumerate(values)]
    assert max(scores["on"][flipped.start : flipped.stop]) >= 0.5
    assert max(scores["on"][flipped.start : flipped.stop]) > max(
        scores["off"][flipped.start : flipped.stop]
    )
    assert max(scores["on"][24 * 8 : flipped.start]) < 0.5  # a week of history, nothing flagged


def test_state_round_trip_with_timestamps_continues_identically_and_stays_bounded() -> None:
    values = daily(40 * 24, flipped=range(35 * 24, 36 * 24))
    times = [START + h * HOUR for h in range(len(values))]
    config = DetectorConfig(season_history_points=200)
    original = StreamingAnomalyDetector(config)
    for v, t in zip(values[:800], times[:800], strict=True):
        original.score(v, t)
    state = json.loads(json.dumps(original.to_state()))
    assert len(state["seasonal"]["times"]) == 200
    restored = StreamingAnomalyDetector.from_state(state)
    rest = list(zip(values[800:], times[800:], strict=True))
    assert [restored.score(v, t) for v, t in rest] == [original.score(v, t) for v, t in rest]


def test_state_of_version_3_is_read_with_an_empty_seasonal_history() -> None:
    detector = StreamingAnomalyDetector()
    for h, v in enumerate(daily(300)):
        detector.score(v, START + h * HOUR)
    state = as_written_by_version(
        detector.to_state(),
        3,
        without_state={"seasonal", "volatility"},
        without_config=config_fields_starting("season_") | config_fields_starting("volatility_"),
    )
    restored = StreamingAnomalyDetector.from_state(state)
    assert restored.config == DetectorConfig()
    assert restored.to_state()["seasonal"] == {
        "times": [],
        "values": [],
        "residuals": {"run": [], "reference": []},
    }


@pytest.mark.parametrize(
    "settings",
    [{"season_break": -0.1}, {"season_gate": 0.0}, {"season_history_points": 1}],
)
def test_invalid_seasonal_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DetectorConfig(**settings)  # type: ignore[arg-type]
