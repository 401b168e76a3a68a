"""Behaviour of the per-series negative spike monitor (services/alert/spike.py)."""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from services.alert.spike import BucketCounts, NegativeSpikeMonitor, SpikeConfig, SpikeVerdict

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday


def _daily_traffic(
    days: int, mean_per_minute: float, ratio: float, seed: int = 5
) -> list[BucketCounts]:
    """One-minute buckets with a strong daily cycle (evening peak 1.9x, night 0.1x)."""
    rng = random.Random(seed)
    buckets = []
    for minute in range(days * 24 * 60):
        hour = (minute % 1440) / 60.0
        volume = mean_per_minute * (1.0 + 0.9 * math.sin(2.0 * math.pi * (hour - 12.0) / 24.0))
        negative = _poisson(rng, ratio * volume)
        other = _poisson(rng, (1.0 - ratio) * volume)
        buckets.append(BucketCounts(START + timedelta(minutes=minute), negative, negative + other))
    return buckets


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def test_burst_on_brand_new_topic_is_a_spike() -> None:
    monitor = NegativeSpikeMonitor()
    start = datetime(2024, 3, 4, 12, tzinfo=UTC)
    quiet = [BucketCounts(start + timedelta(seconds=2 * i), 0, 0) for i in range(5)]
    assert not any(monitor.observe(b).spiking for b in quiet)
    verdict = monitor.observe(BucketCounts(start + timedelta(seconds=10), 30, 30))
    assert verdict.spiking and verdict.new_alert
    assert verdict.score >= monitor.config.threshold


def test_three_angry_messages_at_3am_are_not_a_spike() -> None:
    monitor = NegativeSpikeMonitor(SpikeConfig(min_negatives=10))
    night = datetime(2024, 3, 4, 3, tzinfo=UTC)
    verdicts = [
        monitor.observe(BucketCounts(night + timedelta(minutes=i), 0, 0)) for i in range(30)
    ]
    verdicts.append(monitor.observe(BucketCounts(night + timedelta(minutes=30), 3, 3)))
    assert not any(v.spiking for v in verdicts)


def test_daily_peak_in_traffic_does_not_fire() -> None:
    monitor = NegativeSpikeMonitor()
    verdicts = [monitor.observe(b) for b in _daily_traffic(days=2, mean_per_minute=30.0, ratio=0.2)]
    assert not any(v.new_alert for v in verdicts)


def test_tripled_negatives_on_an_established_topic_fire_within_two_buckets() -> None:
    # 100 msgs/min on average, 15% negative; at 10:00 on day 2 about 55 msgs/min, 8 negative.
    buckets = _daily_traffic(days=2, mean_per_minute=100.0, ratio=0.15)[: 1440 + 600]
    monitor = NegativeSpikeMonitor()
    assert not any(monitor.observe(bucket).new_alert for bucket in buckets)
    incident_start = START + timedelta(days=1, hours=10)
    fired = [
        monitor.observe(BucketCounts(incident_start + timedelta(minutes=i), 25, 72)).new_alert
        for i in range(2)
    ]
    assert any(fired)


def test_state_round_trip_gives_identical_verdicts() -> None:
    buckets = _daily_traffic(days=1, mean_per_minute=10.0, ratio=0.3)
    original = NegativeSpikeMonitor()
    for bucket in buckets[:900]:
        original.observe(bucket)
    restored = NegativeSpikeMonitor.from_state(json.loads(json.dumps(original.to_state())))
    assert [restored.observe(b) for b in buckets[900:]] == [
        original.observe(b) for b in buckets[900:]
    ]


def _moderate_surge(config: SpikeConfig, minutes: int) -> list[SpikeVerdict]:
    """A busy topic (100 msgs/min, 15% negative) with a week of history, whose negatives run
    at about 1.7x their usual count from 10:00 on day 9 (13 instead of 7 a minute at that hour):
    a drift no single bucket of this seed shows beyond doubt."""
    surge_start = 8 * 1440 + 600
    monitor = NegativeSpikeMonitor(config)
    for bucket in _daily_traffic(days=9, mean_per_minute=100.0, ratio=0.15)[:surge_start]:
        assert not monitor.observe(bucket).new_alert
    surge = _daily_traffic(days=9, mean_per_minute=100.0, ratio=0.235, seed=9)
    return [monitor.observe(b) for b in surge[surge_start : surge_start + minutes]]


def test_a_moderate_surge_that_lasts_fires_through_the_sustained_test() -> None:
    verdicts = _moderate_surge(SpikeConfig(), minutes=30)
    assert any(v.new_alert for v in verdicts)
    first = next(v for v in verdicts if v.new_alert)
    assert first.sustained and first.fold < SpikeConfig().min_fold
    assert first.score >= SpikeConfig().threshold


def test_without_the_sustained_test_the_same_surge_goes_unreported() -> None:
    verdicts = _moderate_surge(SpikeConfig(sustained_buckets=0), minutes=30)
    assert not any(v.spiking for v in verdicts)


def test_a_moderate_surge_shorter_than_the_window_is_not_an_incident() -> None:
    verdicts = _moderate_surge(SpikeConfig(), minutes=3)
    assert not any(v.spiking for v in verdicts)


def test_state_of_version_1_starts_the_sustained_test_with_an_empty_window() -> None:
    monitor = NegativeSpikeMonitor()
    for bucket in _daily_traffic(days=1, mean_per_minute=10.0, ratio=0.3)[:100]:
        monitor.observe(bucket)
    state = monitor.to_state()
    assert len(state["sustained_window"]) == SpikeConfig().sustained_buckets  # type: ignore[arg-type]
    del state["sustained_window"]
    state["version"] = 1
    restored = NegativeSpikeMonitor.from_state(state)
    assert restored.to_state()["sustained_window"] == []


def test_the_given_config_replaces_the_stored_one() -> None:
    state = NegativeSpikeMonitor().to_state()
    tuned = SpikeConfig(min_negatives=25, sustained_buckets=5)
    restored = NegativeSpikeMonitor.from_state(state, tuned)
    assert restored.config == tuned
    assert restored.to_state()["config"] == asdict(tuned)


@pytest.mark.parametrize(
    "settings",
    [{"sustained_buckets": -1}, {"sustained_min_fold": 0.9}, {"sustained_min_negatives": 0}],
)
def test_invalid_sustained_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SpikeConfig(**settings)  # type: ignore[arg-type]
