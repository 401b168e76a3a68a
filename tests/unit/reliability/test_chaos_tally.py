"""The arithmetic behind `make chaos`'s verdicts: percentiles, lost ids, double counts."""

from reliability.chaos.tally import (
    CounterAcrossRestarts,
    counted_messages,
    double_counted,
    duplicate_alerts,
    lost,
    p99,
)


def test_p99_is_the_nearest_rank_value() -> None:
    assert p99([float(v) for v in range(1, 101)]) == 99.0
    assert p99([float(v) for v in range(1, 201)]) == 198.0
    assert p99([0.5]) == 0.5
    assert p99([3.0, 1.0, 2.0]) == 3.0


def test_p99_of_no_answers_is_none() -> None:
    assert p99([]) is None


def test_lost_is_accepted_ids_never_classified() -> None:
    assert lost(["a", "b", "c"], ["b", "b", "x"]) == {"a", "c"}
    assert lost(["a"], ["a", "a"]) == set()


def test_an_alert_fired_twice_is_a_duplicate_but_its_later_states_are_not() -> None:
    events = [
        ("a1", "firing"),
        ("a1", "acknowledged"),
        ("a1", "resolved"),
        ("a2", "firing"),
        ("a2", "firing"),
        ("a3", "firing"),
        ("a3", "firing"),
        ("a3", "firing"),
    ]
    assert duplicate_alerts(events) == 2
    assert duplicate_alerts([]) == 0


def test_double_counted_is_the_excess_over_distinct_ids_never_negative() -> None:
    assert double_counted(counted=105, distinct=100) == 5
    assert double_counted(counted=90, distinct=100) == 0


def test_counted_messages_adds_on_time_late_and_unattributed_but_not_duplicates() -> None:
    metrics = "\n".join(
        [
            "# HELP carepulse_alert_messages_total Classified messages seen by the counter.",
            "# TYPE carepulse_alert_messages_total counter",
            'carepulse_alert_messages_total{outcome="on_time"} 120.0',
            'carepulse_alert_messages_total{outcome="duplicate"} 7.0',
            'carepulse_alert_messages_total{outcome="late"} 3.0',
            'carepulse_alert_messages_total{outcome="unattributed"} 5.0',
            'carepulse_alert_messages_created{outcome="late"} 1.7e+09',
        ]
    )
    assert counted_messages(metrics) == 128
    assert counted_messages("") == 0


def test_a_counter_followed_across_restarts_keeps_what_each_process_reached() -> None:
    counter = CounterAcrossRestarts()
    for value in (0, 10, 25, 4, 9, 9, 0, 2):  # restarted after 25 and after 9
        counter.observe(value)
    assert counter.total == 25 + 9 + 2
