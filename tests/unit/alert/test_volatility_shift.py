"""Volatility check of the anomaly scorer (services/alert/volatility.py)."""

from __future__ import annotations

import random

import pytest

from services.alert.detector import DetectorConfig, StreamingAnomalyDetector
from services.alert.volatility import VolatilityShiftNovelty
from tests.unit.alert.older_states import as_written_by_version, config_fields_starting

AGITATION_START = 1500
# Around its level and back, so the median of any 5 consecutive values stays at the level:
# only the size of the steps changes, not where the series sits.
_SWING = (0.0, 3.0, 0.0, -3.0)


def _calm_then_agitated(length: int = 2000, seed: int = 4) -> list[float]:
    """Noise around 10 inside a range stretched to [0, 200] early on, then steady swings of
    +-3 that stay inside that range, at the same level, in shapes far smaller than the range."""
    rng = random.Random(seed)
    values = [10.0 + rng.gauss(0.0, 0.3) for _ in range(length)]
    values[200], values[250] = 200.0, 0.0
    for i in range(AGITATION_START, length):
        values[i] = 10.0 + _SWING[i % len(_SWING)]
    return values


def _scores(values: list[float], config: DetectorConfig) -> list[float]:
    detector = StreamingAnomalyDetector(config)
    return [detector.score(v) for v in values]


def test_a_calm_series_turning_agitated_inside_its_range_is_reported() -> None:
    values = _calm_then_agitated()
    scores = _scores(values, DetectorConfig())
    assert max(scores[400:AGITATION_START]) < 0.5  # the calm stretch raises nothing
    assert max(scores[AGITATION_START : AGITATION_START + 10]) >= 0.5


def test_without_the_volatility_check_the_agitation_goes_unreported() -> None:
    scores = _scores(_calm_then_agitated(), DetectorConfig(volatility_break=0.0))
    assert max(scores[AGITATION_START:]) < 0.5


def test_a_calmer_stretch_is_not_news() -> None:
    rng = random.Random(8)
    check = VolatilityShiftNovelty(
        run_points=5, reference_points=500, quantile=0.05, break_fraction=0.5
    )
    for _ in range(600):
        check.update(rng.gauss(0.0, 1.0), min_band=0.0)
    assert [check.update(0.0, min_band=0.0) for _ in range(50)] == [0.0] * 50
    swings = [check.update(8.0 * (-1) ** i, min_band=0.0) for i in range(5)]
    assert swings[0] == 0.0  # one big step among four flat ones: the median has not moved
    assert max(swings) > 1.0


def test_state_round_trip_mid_agitation_continues_with_identical_scores() -> None:
    values = _calm_then_agitated()
    original = StreamingAnomalyDetector()
    for v in values[: AGITATION_START + 3]:
        original.score(v)
    state = original.to_state()
    assert state["volatility"]["previous"] == values[AGITATION_START + 2]  # type: ignore[index]
    restored = StreamingAnomalyDetector.from_state(state)
    rest = values[AGITATION_START + 3 :]
    assert [restored.score(v) for v in rest] == [original.score(v) for v in rest]


def test_state_of_version_4_is_read_with_a_fresh_volatility_check() -> None:
    detector = StreamingAnomalyDetector()
    for v in _calm_then_agitated()[:1200]:
        detector.score(v)
    state = as_written_by_version(
        detector.to_state(),
        4,
        without_state={"volatility"},
        without_config=config_fields_starting("volatility_"),
    )
    restored = StreamingAnomalyDetector.from_state(state)
    assert restored.config == DetectorConfig()
    fresh: dict[str, object] = {"previous": None, "run": [], "reference": []}
    assert restored.to_state()["volatility"] == fresh
    assert 0.0 <= restored.score(10.0) <= 1.0


@pytest.mark.parametrize("settings", [{"volatility_break": -0.5}, {"volatility_quantile": 0.5}])
def test_invalid_volatility_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DetectorConfig(**settings)  # type: ignore[arg-type]
