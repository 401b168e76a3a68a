"""How the latency benchmark ranks answers and failures, and which rate it reports."""

from benchmarks.system.latency import summarize
from benchmarks.system.open_loop import Outcome
from benchmarks.system.stats import latency_row, percentile


def _answered(latency_ms: float, status: int = 200) -> Outcome:
    return Outcome(due=0.0, send_lag_s=0.001, latency_s=latency_ms / 1000, status=status)


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted

    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7


def test_a_fast_failure_never_makes_the_percentiles_look_faster() -> None:
    slow_answers = [_answered(100) for _ in range(98)]
    fast_503s = [_answered(1, status=503), _answered(1, status=0)]

    row = latency_row(20, slow_answers + fast_503s, target_p99_ms=150)

    assert row["p50_ms"] == 100
    assert row["p99_ms"] is None  # the 99th rank falls on a failure
    assert row["within_target"] is False
    assert row["max_ms"] == 100  # the slowest answer; failures are counted apart
    assert row["failed_by_status"] == {"0": 1, "503": 1}
    assert (row["sent"], row["ok"], row["failed"]) == (100, 98, 2)


def test_one_failure_in_a_hundred_leaves_p99_on_the_answers() -> None:
    outcomes = [_answered(ms) for ms in range(1, 100)] + [_answered(1, status=429)]

    row = latency_row(10, outcomes, target_p99_ms=150)

    assert row["p99_ms"] == 99
    assert row["within_target"] is True


def test_the_highest_rate_within_target_stops_at_the_first_rate_that_missed() -> None:
    rows = [
        latency_row(5, [_answered(50)], 150),
        latency_row(10, [_answered(200)], 150),
        latency_row(20, [_answered(90)], 150),  # met again, but after a miss: noise
    ]

    summary = summarize(rows, report_rate=20, target_p99_ms=150)

    assert summary["max_rate_p99_within_target"] == 5
    assert (summary["rate_rps"], summary["p99_ms"]) == (20, 90)


def test_no_rate_within_target_reports_zero() -> None:
    summary = summarize([latency_row(5, [_answered(500)], 150)], report_rate=5, target_p99_ms=150)

    assert summary["max_rate_p99_within_target"] == 0
