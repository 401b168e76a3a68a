"""The volume kind of a series (detection/volume.py): counts that follow the clock, wander and
burst are normal; a surge far beyond what this series brings is not."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.alert.detection import volume
from services.alert.detection.incidents import Decision, IncidentRules, IncidentTracker
from services.alert.detection.routine_surprise import SurpriseHistogram
from services.alert.detection.surprise import overdispersed_decades
from services.alert.detection.volume import VolumeConfig, VolumeJudgement, VolumeSurgeDetector
from services.alert.settings import AlertSettings

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday


def _traffic(days: float, mean: float, seed: int = 3, burstiness: float = 0.0) -> list[int]:
    """Messages per minute with a daily cycle (0.2x at night to 1.8x in the evening); with
    `burstiness`, the rate itself wanders (gamma noise of that squared coefficient of
    variation), as real topics' traffic does."""
    rng = random.Random(seed)
    counts = []
    for minute in range(int(days * 1440)):
        rate = mean * (1.0 + 0.8 * math.sin(2.0 * math.pi * ((minute % 1440) / 60 - 9) / 24))
        if burstiness:
            rate *= rng.gammavariate(1.0 / burstiness, burstiness)
        counts.append(_poisson(rng, rate))
    return counts


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 50:  # normal approximation: exact sampling is slow for large means
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _judge(
    detector: VolumeSurgeDetector, counts: list[int], first: int = 0
) -> list[VolumeJudgement]:
    return [
        detector.judge(count, START + timedelta(minutes=first + i))
        for i, count in enumerate(counts)
    ]


def test_a_daily_cycle_and_its_noise_never_surge() -> None:
    detector = VolumeSurgeDetector()
    judgements = _judge(detector, _traffic(days=4, mean=30.0))
    assert not any(j.surged for j in judgements)


NOON = 3 * 1440 + 12 * 60  # of the fourth day


def _established(mean: float, burstiness: float = 0.0) -> tuple[VolumeSurgeDetector, int]:
    """A detector that has seen three and a half days of the topic, up to NOON; and noon's
    usual count."""
    detector = VolumeSurgeDetector()
    history = _traffic(days=4, mean=mean, burstiness=burstiness)[:NOON]
    judgements = _judge(detector, history)
    assert not any(j.surged for j in judgements[-1440:]), "the last day was normal"
    return detector, round(mean * (1.0 + 0.8 * math.sin(2.0 * math.pi * 3 / 24)))


def test_a_tenfold_surge_on_an_established_topic_surges_on_its_first_bucket() -> None:
    detector, usual = _established(mean=20.0)
    (first,) = _judge(detector, [10 * usual], NOON)
    assert first.surged
    assert first.score >= VolumeConfig().threshold
    assert 10 < first.expected < 50
    assert first.surge_threshold <= 10 * usual


def test_a_new_series_only_learns_during_its_warm_up() -> None:
    detector = VolumeSurgeDetector()
    judgements = _judge(detector, [0, 0, 500, 3, 900] + [2] * 50)
    assert not any(j.surged for j in judgements)
    assert {j.score for j in judgements} == {0.0}


def test_a_jump_that_surges_a_calm_series_is_routine_for_a_bursty_one() -> None:
    calm, usual = _established(mean=20.0)
    bursty, _ = _established(mean=20.0, burstiness=0.5)
    at = START + timedelta(minutes=NOON)
    assert calm.judge(3 * usual, at).surged
    assert not bursty.judge(3 * usual, at).surged


def _bursty_counter(seed: int, days: int, folds: tuple[float, float]) -> tuple[list[int], set[int]]:
    """5-minute counts whose rate wanders around 50, and four times a day a bucket `folds`
    times that; and which buckets burst."""
    rng = random.Random(seed)
    per_day = 288
    bursts = {day * per_day + rng.randrange(per_day) for day in range(days) for _ in range(4)}
    counts = [
        _poisson(
            rng, 50.0 * rng.gammavariate(10.0, 0.1) * (rng.uniform(*folds) if i in bursts else 1)
        )
        for i in range(days * per_day)
    ]
    return counts, bursts


def test_bursts_a_few_times_a_day_become_routine() -> None:
    # A counter in 5-minute buckets whose rate wanders around 50, and four times a day a bucket
    # five to twenty times that. With the sustained windows that hold them, the bursts fill
    # under a tenth of the buckets: a routine read at the top tenth never saw them, and nearly
    # every burst paged for each bucket it stayed in the window.
    config = VolumeConfig().for_bucket_width(timedelta(minutes=5))
    detector = VolumeSurgeDetector(config)
    days, per_day = 14, 288
    counts, _ = _bursty_counter(seed=11, days=days, folds=(5, 20))
    judgements = [
        detector.judge(count, START + timedelta(minutes=5 * i)) for i, count in enumerate(counts)
    ]
    last_week = range((days - 7) * per_day, days * per_day)
    assert sum(judgements[i].surged for i in last_week) < 4 * 7, "fewer pages than bursts"
    surge = detector.judge(5000, START + timedelta(days=days, hours=12))
    assert surge.surged, "a burst far beyond the routine ones still surges"


def _wandering_week(seed: int) -> tuple[VolumeSurgeDetector, list[int], datetime]:
    """Eight days of a 5-minute counter whose rate wanders widely (half of its buckets are
    under 0.6x or over 1.5x its mean): the count model needs a big jump to call it rare."""
    detector = VolumeSurgeDetector(VolumeConfig().for_bucket_width(timedelta(minutes=5)))
    rng = random.Random(seed)
    counts = [_poisson(rng, 50.0 * rng.gammavariate(2.0, 0.5)) for _ in range(8 * 288)]
    for i, count in enumerate(counts):
        detector.judge(count, START + timedelta(minutes=5 * i))
    return detector, counts, START + timedelta(days=8, hours=12)


def test_a_count_beyond_anything_of_the_last_week_surges_however_bursty_the_series() -> None:
    # A series whose buckets the count model routinely finds very surprising (real counters
    # burst for reasons the model does not see; here its routine is raised to 8 decades)
    # needs a huge jump to surge by surprise alone; twice its largest count of the week is
    # still news.
    detector, counts, at = _wandering_week(seed=21)
    for _ in range(10_000):
        detector._routine.settled.add(8.0)
    record = max(counts[-7 * 288 :])
    judgement = detector.judge(2 * record, at)
    assert judgement.surged
    assert judgement.score >= math.log10(2) - 1e-9, "scored by how far it tops the week"
    assert judgement.surge_threshold <= 2 * record


def test_a_count_within_the_last_weeks_range_is_no_record() -> None:
    detector, counts, at = _wandering_week(seed=21)
    judgement = detector.judge(max(counts[-7 * 288 :]), at)
    assert not judgement.surged
    assert judgement.score < VolumeConfig().threshold


def test_a_trending_series_hairline_highs_score_nothing() -> None:
    # One message more every two minutes: each bucket tops the week's highest by under 0.1%,
    # the trend and not news. Scored as records, such highs were a trending series' many
    # lowest positive scores, and a threshold chosen elsewhere paged on each.
    detector = VolumeSurgeDetector()
    judgements = _judge(detector, [2000 + minute // 2 for minute in range(2 * 1440)])
    scored = sum(j.score > 0.0 for j in judgements)
    assert scored < 10, "hairline highs tie with the week's highest (1,410 of 2,880 scored)"
    assert not any(j.surged for j in judgements)


def test_a_routine_of_millions_of_decades_is_seen_as_such() -> None:
    # A byte counter idles near 0 and bursts to millions: each burst is hundreds of thousands
    # of decades beyond what an idle bucket promises. A routine histogram that ended at 30
    # decades saw every burst as equal, so a routine one paged like a record one.
    routine = SurpriseHistogram(top=0.02, buckets=288, half_life=1e9)
    rng = random.Random(3)
    for i in range(5000):
        routine.add(rng.uniform(2e5, 1e6) if i % 25 == 0 else rng.uniform(0.0, 1.0))
    assert 2e5 < routine.level(floor=3.0) < 1e7


def test_a_routine_histogram_stored_before_the_log_bins_is_read() -> None:
    detector = VolumeSurgeDetector()
    _judge(detector, _traffic(days=3, mean=10.0))
    state = detector.to_state()
    for key in ("routine", "routine_settled"):
        bins = state[key]
        assert isinstance(bins, list)
        state[key] = bins[:300]  # the linear bins, all there was
    restored = VolumeSurgeDetector.from_state(state, detector.config)
    floor = detector.config.routine_floor_decades
    assert restored._routine.level(floor) == pytest.approx(detector._routine.level(floor))


def test_a_burst_no_bigger_than_the_weeks_others_does_not_page_alone() -> None:
    # A counter whose rate bursts two- to fivefold for a bucket four times a day: the count
    # model finds each burst improbable, but one within the range of the week's others is this
    # series' routine, not news (it paged at a score of 0.48 before the week was consulted).
    detector = VolumeSurgeDetector(VolumeConfig().for_bucket_width(timedelta(minutes=5)))
    days, per_day = 8, 288
    counts, bursts = _bursty_counter(seed=12, days=days, folds=(2, 5))
    for i, count in enumerate(counts):
        detector.judge(count, START + timedelta(minutes=5 * i))
    weeks_bursts = sorted(counts[i] for i in bursts if i >= per_day)
    large_burst = weeks_bursts[int(0.9 * (len(weeks_bursts) - 1))]
    assert large_burst < max(weeks_bursts)
    judgement = detector.judge(large_burst, START + timedelta(days=days, hours=12))
    assert not judgement.surged
    assert judgement.score < VolumeConfig().threshold
    assert judgement.surge_threshold > large_burst


def test_a_moderate_surge_that_lasts_is_caught_by_the_sustained_window() -> None:
    # Ten days of history: its daily cycle is well known, so its noise is small.
    detector = VolumeSurgeDetector()
    week_later = NOON + 7 * 1440
    _judge(detector, _traffic(days=11, mean=100.0)[:week_later])
    expected = detector.judge(157, START + timedelta(minutes=week_later)).expected
    surge = [round(1.7 * expected)] * 10  # below the per-bucket fold guard (2x)
    judgements = _judge(detector, surge, week_later + 1)
    assert any(j.sustained for j in judgements)
    assert all(c < j.surge_threshold for c, j in zip(surge, judgements, strict=True)), (
        "no bucket of it surges alone"
    )


def test_traffic_that_stays_at_its_new_height_becomes_normal() -> None:
    detector, _ = _established(mean=20.0)
    tracker = IncidentTracker(IncidentRules())
    tripled = [3 * c for c in _traffic(days=7, mean=20.0, seed=6)[NOON:]]
    decisions = [tracker.step(j.surged) for j in _judge(detector, tripled, NOON)]
    assert decisions[0] is Decision.OPEN
    assert Decision.RESOLVE in decisions
    assert not any(d.incident_open for d in decisions[-1440:]), "quiet on the last day"


def test_a_count_after_a_silence_does_not_make_its_hour_look_busy() -> None:
    # A new topic is silent for two hours (its level falls to nearly 0), then brings 15
    # messages at 02:00 (too few to surge) and 20 a minute from then on. Taken as a ratio to
    # the level, those 15 would make 02:00 look thousands of times busier than other hours,
    # and a tenfold surge there two days later would pass for normal.
    detector = VolumeSurgeDetector()
    rng = random.Random(5)
    two_days = [_poisson(rng, 20.0) for _ in range(2 * 1440)]
    _judge(detector, [0] * 120 + [15] + two_days[121:] + two_days[:120])
    surge = detector.judge(200, START + timedelta(days=2, hours=2))
    assert surge.expected < 40
    assert surge.surged


def test_the_surge_threshold_search_is_bounded_where_the_tail_underflows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # At an expectation of 1e16 the negative binomial tail is 1 in floating point for every
    # count, so no count reaches the surprise needed; the search must still end quickly.
    calls = 0

    def counted(count: float, expected: float, dispersion: float) -> float:
        nonlocal calls
        calls += 1
        return overdispersed_decades(count, expected, dispersion)

    monkeypatch.setattr(volume, "overdispersed_decades", counted)
    threshold = VolumeSurgeDetector().surge_threshold(1e16, dispersion=1.2, routine=90.0)
    assert threshold > 1e30
    assert calls < 100


def test_a_state_written_with_ratio_slots_continues_where_it_was() -> None:
    # Before the slots were weighted by the level, each held [sum of ratios, buckets].
    detector = VolumeSurgeDetector()
    _judge(detector, _traffic(days=2, mean=10.0))
    state = detector.to_state()
    level = detector._level or 1.0
    for old, new in (("by_hour", "hour_slots"), ("by_week_hour", "week_hour_slots")):
        slots = state.pop(new)
        assert isinstance(slots, list)
        state[old] = [[counts / level, levels / level] for counts, levels in slots]
    restored = VolumeSurgeDetector.from_state(state, detector.config)
    at = START + timedelta(days=2, hours=14)
    assert restored.judge(25, at).expected == pytest.approx(detector.judge(25, at).expected)


def test_a_state_from_before_the_settled_routine_keeps_its_routine_for_a_day() -> None:
    detector = VolumeSurgeDetector()
    _judge(detector, _traffic(days=3, mean=10.0))
    state = detector.to_state()
    del state["routine_settled"], state["routine_seen"]
    restored = VolumeSurgeDetector.from_state(state, detector.config)
    floor = detector.config.routine_floor_decades
    assert restored._routine.level(floor) == detector._routine.learning.level(floor)


def test_a_state_from_before_the_records_starts_them_empty() -> None:
    detector = VolumeSurgeDetector()
    _judge(detector, _traffic(days=2, mean=10.0))
    state = detector.to_state()
    del state["count_record"], state["ratio_record"]
    restored = VolumeSurgeDetector.from_state(state, detector.config)
    assert restored._records.counts.maximum() == restored._records.ratios.maximum() == 0.0
    at = START + timedelta(days=2, hours=14)
    assert restored.judge(25, at).expected == pytest.approx(detector.judge(25, at).expected)


def test_with_records_off_only_the_count_model_decides() -> None:
    detector, counts, at = _wandering_week(seed=21)
    off = VolumeSurgeDetector(replace(detector.config, record_days=0))
    for i, count in enumerate(counts):
        off.judge(count, START + timedelta(minutes=5 * i))
    for _ in range(10_000):
        off._routine.settled.add(8.0)
    judgement = off.judge(2 * max(counts[-7 * 288 :]), at)
    assert not judgement.surged
    assert judgement.score == 0.0


def test_state_round_trip_gives_identical_judgements() -> None:
    counts = _traffic(days=2, mean=10.0)
    original = VolumeSurgeDetector()
    _judge(original, counts[:2000])
    state = json.loads(json.dumps(original.to_state()))
    restored = VolumeSurgeDetector.from_state(state, original.config)
    later = [*counts[2000:], 400, 500]
    assert _judge(restored, later, 2000) == _judge(original, later, 2000)


def test_wider_buckets_learn_over_the_same_hours_and_keep_the_operator_settings() -> None:
    minute = VolumeConfig()
    assert minute.for_bucket_width(timedelta(seconds=60)) == minute
    five = minute.for_bucket_width(timedelta(minutes=5))
    assert five.level_buckets * 5 == minute.level_buckets  # 6 hours either way
    assert five.routine_buckets == 288  # one bucket a day
    assert five.seasonal_prior_buckets == 12  # an hour of the slot's own buckets
    assert five.buckets_per_day == 288  # records kept a day at a time
    operator = (
        "threshold",
        "min_count",
        "min_fold",
        "sustained_buckets",
        "warmup_buckets",
        "record_days",
    )
    assert all(getattr(five, name) == getattr(minute, name) for name in operator)
    hourly = minute.for_bucket_width(timedelta(hours=1))
    assert hourly.seasonal_prior_buckets == 1.0  # never below one bucket


def test_the_service_keeps_the_volume_horizons_in_time_whatever_its_bucket_width(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALERT_BUCKET_SECONDS", "300")
    monkeypatch.setenv("ALERT_VOLUME_WARMUP_BUCKETS", "12")
    monkeypatch.setenv("ALERT_VOLUME_RECORD_DAYS", "14")
    volume_config = AlertSettings().monitor_config.volume
    assert volume_config == VolumeConfig(warmup_buckets=12, record_days=14).for_bucket_width(
        timedelta(minutes=5)
    )
    assert volume_config.level_buckets == VolumeConfig().level_buckets / 5
