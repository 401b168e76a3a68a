"""How surprising a count is (detection/surprise.py): the tails the detectors score with."""

from __future__ import annotations

import math

import pytest

from services.alert.detection.surprise import log_poisson_upper_tail, overdispersed_decades


@pytest.mark.parametrize(("count", "expected"), [(5, 1.0), (40, 20.0), (1, 0.07)])
def test_a_vanishing_dispersion_gives_the_poisson_surprise(count: int, expected: float) -> None:
    # A series whose counts jitter no more than Poisson counts estimates a dispersion of
    # nearly 0; its surprise must be Poisson's, not the rounding noise of a 1e14-sized tail.
    poisson = -log_poisson_upper_tail(count, expected) / math.log(10.0)
    assert overdispersed_decades(count, expected, 1e-14) == pytest.approx(poisson, rel=1e-6)


def test_a_count_above_its_expectation_is_never_negatively_surprising() -> None:
    for count, expected in ((0.0798, 0.0784), (0.4534, 0.3755), (0.0899, 0.0741)):
        assert overdispersed_decades(count, expected, 7e-15) >= 0.0
