from servicekit.backoff import Backoff


def _ceilings(backoff: Backoff, n: int) -> list[float]:
    return [backoff.next_delay_s() for _ in range(n)]


def test_delays_double_from_the_initial_wait_up_to_the_cap() -> None:
    # The upper end of the jitter range shows each ceiling.
    backoff = Backoff(0.5, 5.0, uniform=lambda _low, high: high)

    assert _ceilings(backoff, 6) == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_draws_between_zero_and_the_ceiling() -> None:
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return low

    backoff = Backoff(1.0, 60.0, uniform=uniform)
    assert _ceilings(backoff, 3) == [0.0, 0.0, 0.0]
    assert drawn == [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0)]


def test_success_resets_to_the_initial_wait() -> None:
    backoff = Backoff(0.5, 5.0, uniform=lambda _low, high: high)
    _ceilings(backoff, 4)

    backoff.reset()

    assert backoff.next_delay_s() == 0.5


def test_a_long_outage_never_overflows() -> None:
    backoff = Backoff(0.2, 30.0, uniform=lambda _low, high: high)

    assert _ceilings(backoff, 2000)[-1] == 30.0
