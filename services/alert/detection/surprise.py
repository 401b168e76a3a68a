"""How surprising a count is: upper-tail probabilities of count models, and the score scale.

Both alert kinds speak the same scale: ``score = -log10(p) / 10`` clipped to [0, 1], where
``p`` is the probability of a count at least this large under the series' model (0.5 is a
one-in-100 000 bucket). Pure Python, bounded work per call: the service has no numpy.
"""

from __future__ import annotations

import math

_MAX_SURPRISE_DECADES = 10.0  # score 1.0 == p-value 1e-10
_TINY = 1e-300
_CONTINUED_FRACTION_STEPS = 400
_EPSILON = 1e-12
_LN10 = math.log(10.0)
# Below this dispersion the negative binomial is Poisson to far within any alerting margin,
# and its size (1 / dispersion) is so large that the incomplete beta's log-gamma differences
# cancel catastrophically (at 1e-14, a tail off by 0.2 decades, or of the wrong sign).
_POISSON_DISPERSION = 1e-8


def score_of(p_value: float) -> float:
    """``-log10(p) / 10`` in [0, 1]."""
    return min(1.0, decades_of(p_value) / _MAX_SURPRISE_DECADES)


def decades_of(p_value: float) -> float:
    """``-log10(p)``: how many orders of magnitude rarer than a coin toss's certainty."""
    return -math.log10(max(p_value, _TINY))


def surprise_score(count: float, expected: float) -> float:
    """Score of ``count`` under ``Poisson(expected)``; 0 when there is no excess."""
    if count <= expected:
        return 0.0
    return score_of(poisson_upper_tail(math.ceil(count), expected))


def poisson_upper_tail(k: int, mean: float) -> float:
    """``P(K >= k)`` for ``K ~ Poisson(mean)``; exact series, bounded work."""
    return math.exp(log_poisson_upper_tail(k, mean))


def log_poisson_upper_tail(k: int, mean: float) -> float:
    """``log P(K >= k)`` for ``K ~ Poisson(mean)``, in logarithms so a far tail does not
    underflow to 0."""
    if k <= 0:
        return 0.0
    if k <= mean:
        return math.log(max(1.0 - poisson_upper_tail_complement(k, mean), _TINY))
    log_term = k * math.log(mean) - mean - math.lgamma(k + 1)
    term, total, j = 1.0, 1.0, k
    while term > 1e-16 * total and j < k + 10_000:
        j += 1
        term *= mean / j
        total += term
    return min(0.0, log_term + math.log(total))


def poisson_upper_tail_complement(k: int, mean: float) -> float:
    """``P(K < k)`` for ``K ~ Poisson(mean)``, summing the ``k`` lower terms."""
    term = math.exp(-mean)
    total = term
    for j in range(1, k):
        term *= mean / j
        total += term
    return min(1.0, total)


def overdispersed_score(count: float, expected: float, dispersion: float) -> float:
    """:func:`overdispersed_decades` on the score scale."""
    return min(1.0, overdispersed_decades(count, expected, dispersion) / _MAX_SURPRISE_DECADES)


def overdispersed_decades(count: float, expected: float, dispersion: float) -> float:
    """Score of ``count`` under a negative binomial with mean ``expected`` and variance
    ``expected + dispersion * expected**2`` (Poisson when ``dispersion`` is 0); 0 when there is
    no excess. The gamma-Poisson mixture is what counts look like when the rate itself
    wanders from bucket to bucket (bursts, news, a busy afternoon)."""
    if count <= expected:
        return 0.0
    if dispersion < _POISSON_DISPERSION:
        return -log_poisson_upper_tail(math.ceil(count), expected) / _LN10
    size = 1.0 / dispersion
    # P(X >= k) = I_x(k, size) with x = expected / (expected + size).
    x = expected / (expected + size)
    # A probability is at most 1: rounding must not make a surprise negative.
    return max(0.0, -log_regularized_incomplete_beta(max(count, _EPSILON), size, x) / _LN10)


def log_regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """``log I_x(a, b)`` by Lentz's continued fraction (Numerical Recipes' ``betai``), in
    logarithms so that a far tail does not underflow to 0."""
    if x <= 0.0:
        return -math.inf
    if x >= 1.0:
        return 0.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return log_front + math.log(_beta_fraction(a, b, x) / a)
    complement = math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b
    return math.log(max(1.0 - complement, _TINY))


def _beta_fraction(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _CONTINUED_FRACTION_STEPS + 1):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < 3e-14:
            break
    return h
