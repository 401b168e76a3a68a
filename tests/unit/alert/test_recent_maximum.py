"""The recent maximum behind the volume detector's record evidence (detection/recent_maximum.py)."""

from __future__ import annotations

import json
import math

import pytest

from services.alert.detection.recent_maximum import RecentMaximum, RecentRecords


def test_nothing_seen_is_no_record_to_top() -> None:
    assert RecentMaximum(days=7, buckets_per_day=4).decades_above(1000.0) == 0.0


def test_a_value_is_measured_in_decades_above_the_maximum() -> None:
    recent = RecentMaximum(days=7, buckets_per_day=4)
    for value in (3.0, 10.0, 5.0):
        recent.add(value)
    assert recent.decades_above(100.0) == pytest.approx(1.0)
    assert recent.decades_above(10.0) == 0.0
    assert recent.decades_above(4.0) == 0.0


def test_a_maximum_older_than_the_window_is_forgotten() -> None:
    recent = RecentMaximum(days=2, buckets_per_day=3)
    for value in (50.0, 1.0, 1.0):  # day 1
        recent.add(value)
    for _ in range(3):  # day 2
        recent.add(2.0)
    assert recent.maximum() == 50.0, "two days are kept"
    recent.add(3.0)  # day 3 begins; day 1 still in the window with day 2
    assert recent.maximum() == 50.0
    for _ in range(2):
        recent.add(3.0)  # day 3 complete: days 2 and 3 are the window
    assert recent.maximum() == 3.0
    assert recent.decades_above(30.0) == pytest.approx(1.0)


def test_state_round_trip_continues_where_it_was() -> None:
    recent = RecentMaximum(days=3, buckets_per_day=2)
    for value in (4.0, 8.0, 1.0, 2.0, 6.0):
        recent.add(value)
    restored = RecentMaximum(days=3, buckets_per_day=2)
    restored.load(json.loads(json.dumps(recent.to_state())))
    for value in (0.5, 0.5, 0.5, 0.5):
        recent.add(value)
        restored.add(value)
        assert restored.maximum() == recent.maximum()
    assert math.isclose(restored.decades_above(60.0), recent.decades_above(60.0))


def test_a_malformed_state_is_refused() -> None:
    with pytest.raises(ValueError):
        RecentMaximum(days=3, buckets_per_day=2).load({"days": "not a list"})


def test_with_no_days_nothing_is_remembered() -> None:
    recent = RecentMaximum(days=0, buckets_per_day=2)
    for value in (4.0, 8.0, 1.0):
        recent.add(value)
    assert recent.maximum() == 0.0


def test_a_hairline_high_ties_with_the_maximum() -> None:
    # A trending series tops its maximum by a hair every few buckets; such highs are no news.
    recent = RecentMaximum(days=7, buckets_per_day=4)
    recent.add(1000.0)
    assert not recent.topped_by(1004.0)
    assert recent.decades_above(1004.0) == 0.0
    assert recent.topped_by(1006.0)
    assert recent.decades_above(1006.0) == pytest.approx(math.log10(1.006))


def test_the_count_that_tops_the_records_is_beyond_a_tie() -> None:
    records = RecentRecords(days=7, buckets_per_day=4)
    records.add(1000.0, 2.0)
    # Ratios: (count + 100) / (900 + 100) must top 2.0 * 1.005, counts 1000 * 1.005.
    assert records.count_topping(expected=900.0, pseudo=100.0, margin=1.0) == pytest.approx(1005.0)
    assert not records.tops(1004.0, 1.0)
    assert records.tops(1006.0, 1.0)
    assert records.count_topping(expected=900.0, pseudo=100.0, margin=2.0) == 2000.0
