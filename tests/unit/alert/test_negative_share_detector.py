"""The negative-share kind of a series (detection/negative_share.py), through the monitor the
bucket closer and the benchmarks drive."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from services.alert.detection.counts import BucketCounts
from services.alert.detection.incidents import Decision
from services.alert.detection.negative_share import NegativeShareConfig
from services.alert.detection.series_monitor import (
    KindVerdict,
    MonitorConfig,
    SeriesMonitor,
    SeriesVerdict,
)

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


def _monitor(config: NegativeShareConfig | None = None) -> SeriesMonitor:
    return SeriesMonitor(MonitorConfig(negative_share=config or NegativeShareConfig()))


def _share(monitor: SeriesMonitor, bucket: BucketCounts) -> KindVerdict:
    return monitor.observe(bucket).negative_share


def _opens(verdict: KindVerdict) -> bool:
    return verdict.decision is Decision.OPEN


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def test_burst_on_brand_new_topic_is_a_spike() -> None:
    monitor = _monitor()
    start = datetime(2024, 3, 4, 12, tzinfo=UTC)
    quiet = [BucketCounts(start + timedelta(seconds=2 * i), 0, 0) for i in range(5)]
    assert not any(_share(monitor, b).decision.incident_open for b in quiet)
    verdict = _share(monitor, BucketCounts(start + timedelta(seconds=10), 30, 30))
    assert _opens(verdict)
    assert verdict.score >= NegativeShareConfig().threshold


def test_three_angry_messages_at_3am_are_not_a_spike() -> None:
    monitor = _monitor(NegativeShareConfig(min_negatives=10))
    night = datetime(2024, 3, 4, 3, tzinfo=UTC)
    verdicts = [
        _share(monitor, BucketCounts(night + timedelta(minutes=i), 0, 0)) for i in range(30)
    ]
    verdicts.append(_share(monitor, BucketCounts(night + timedelta(minutes=30), 3, 3)))
    assert not any(v.decision.incident_open for v in verdicts)


def test_daily_peak_in_traffic_does_not_fire() -> None:
    monitor = _monitor()
    traffic = _daily_traffic(days=2, mean_per_minute=30.0, ratio=0.2)
    assert not any(_opens(_share(monitor, b)) for b in traffic)


def test_tripled_negatives_on_an_established_topic_fire_within_two_buckets() -> None:
    # 100 msgs/min on average, 15% negative; at 10:00 on day 2 about 55 msgs/min, 8 negative.
    buckets = _daily_traffic(days=2, mean_per_minute=100.0, ratio=0.15)[: 1440 + 600]
    monitor = _monitor()
    assert not any(_opens(_share(monitor, bucket)) for bucket in buckets)
    incident_start = START + timedelta(days=1, hours=10)
    fired = [
        _opens(_share(monitor, BucketCounts(incident_start + timedelta(minutes=i), 25, 72)))
        for i in range(2)
    ]
    assert any(fired)


def test_state_round_trip_gives_identical_verdicts() -> None:
    buckets = _daily_traffic(days=1, mean_per_minute=10.0, ratio=0.3)
    original = _monitor()
    for bucket in buckets[:900]:
        original.observe(bucket)
    state = json.loads(json.dumps(original.to_state()))
    restored = SeriesMonitor.from_state(state, original.config)
    assert [restored.observe(b) for b in buckets[900:]] == [
        original.observe(b) for b in buckets[900:]
    ]


def _moderate_surge(config: NegativeShareConfig, minutes: int) -> list[SeriesVerdict]:
    """A busy topic (100 msgs/min, 15% negative) with a week of history, whose negatives run
    at about 1.7x their usual count from 10:00 on day 9 (13 instead of 7 a minute at that hour):
    a drift no single bucket of this seed shows beyond doubt."""
    surge_start = 8 * 1440 + 600
    monitor = _monitor(config)
    for bucket in _daily_traffic(days=9, mean_per_minute=100.0, ratio=0.15)[:surge_start]:
        assert not _opens(_share(monitor, bucket))
    surge = _daily_traffic(days=9, mean_per_minute=100.0, ratio=0.235, seed=9)
    return [monitor.observe(b) for b in surge[surge_start : surge_start + minutes]]


def test_a_moderate_surge_that_lasts_fires_through_the_sustained_test() -> None:
    verdicts = _moderate_surge(NegativeShareConfig(), minutes=30)
    first = next(v for v in verdicts if _opens(v.negative_share))
    assert first.negative_share.sustained
    assert first.counts.negative < first.negative_share.threshold, "not a spike on its own"
    assert first.negative_share.score >= NegativeShareConfig().threshold


def test_without_the_sustained_test_the_same_surge_goes_unreported() -> None:
    verdicts = _moderate_surge(NegativeShareConfig(sustained_buckets=0), minutes=30)
    assert not any(v.negative_share.decision.incident_open for v in verdicts)


def test_a_moderate_surge_shorter_than_the_window_is_not_an_incident() -> None:
    verdicts = _moderate_surge(NegativeShareConfig(), minutes=3)
    assert not any(v.negative_share.decision.incident_open for v in verdicts)


def test_a_state_from_before_the_volume_kind_starts_its_detectors_fresh() -> None:
    monitor = _monitor()
    for bucket in _daily_traffic(days=1, mean_per_minute=10.0, ratio=0.3)[:100]:
        monitor.observe(bucket)
    state = monitor.to_state()
    share_only = {k: v for k, v in state.items() if k.startswith("negative_share")}

    restored = SeriesMonitor.from_state(share_only, monitor.config).to_state()

    assert restored["negative_share"] == state["negative_share"]
    assert restored["volume"] == SeriesMonitor(monitor.config).to_state()["volume"]


@pytest.mark.parametrize(
    "settings",
    [{"sustained_buckets": -1}, {"sustained_min_fold": 0.9}, {"sustained_min_negatives": 0}],
)
def test_invalid_sustained_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        NegativeShareConfig(**settings)  # type: ignore[arg-type]
