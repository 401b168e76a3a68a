"""The pipeline benchmark's sustained rate leaves out the ramp-up and the tail."""

from benchmarks.system.pipeline import steady_rate


def test_a_slow_start_and_a_straggler_do_not_change_the_sustained_rate() -> None:
    ramp = [i * 1.0 for i in range(10)]  # 10 messages over the first 10 s
    steady = [10 + i * 0.01 for i in range(80)]  # then 100 msgs/s
    straggler = [30.0 + i for i in range(10)]  # the last few trickle in
    arrivals = ramp + steady + straggler

    assert abs(steady_rate(arrivals, trim=0.1) - 100) < 2


def test_arrivals_read_in_one_poll_do_not_divide_by_zero() -> None:
    assert steady_rate([5.0] * 20, trim=0.1) > 1000
