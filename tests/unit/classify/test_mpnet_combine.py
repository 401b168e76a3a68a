"""Blend and cascade of a teacher's distribution with the served one, chosen on dev."""

from __future__ import annotations

import numpy as np
import pytest

from training.classify.mpnet_combine import (
    CascadePoint,
    blend,
    cascade,
    cascade_curve,
    choose_blend,
    choose_cascade,
    choose_joint_cascade,
    max_routed_fraction,
)

# Three messages, two labels, gold 0, 1, 1. The student is sure and right on the first, unsure
# and wrong on the other two; the teacher is right on the last two and wrong on the first.
STUDENT = np.array([[0.95, 0.05], [0.55, 0.45], [0.6, 0.4]], dtype=np.float32)
TEACHER = np.array([[0.3, 0.7], [0.1, 0.9], [0.2, 0.8]], dtype=np.float32)
GOLD = np.array([0, 1, 1], dtype=np.int64)


def test_a_cascade_sends_only_unsure_messages_to_the_fallback() -> None:
    served = cascade(STUDENT, TEACHER, threshold=0.9)
    np.testing.assert_array_equal(served, np.stack([STUDENT[0], TEACHER[1], TEACHER[2]]))


def test_threshold_zero_routes_nothing() -> None:
    np.testing.assert_array_equal(cascade(STUDENT, TEACHER, threshold=0.0), STUDENT)


def test_the_cascade_curve_reports_the_share_routed_and_the_best_is_the_cheapest() -> None:
    curve = cascade_curve(STUDENT, TEACHER, GOLD, "accuracy")
    by_threshold = {p.threshold: p for p in curve}
    assert by_threshold[0.0].routed_fraction == 0.0 and by_threshold[0.0].dev_score == 0.3333
    assert by_threshold[0.99].routed_fraction == 1.0 and by_threshold[0.99].dev_score == 0.6667
    # 0.7 already routes the two unsure messages (2/3) and scores 1.0, as every higher one.
    best = choose_cascade(curve)
    assert (best.threshold, best.routed_fraction, best.dev_score) == (0.7, 0.6667, 1.0)


def test_the_blend_weight_is_the_teachers_share_with_the_best_dev_score() -> None:
    choice = choose_blend(STUDENT, TEACHER, GOLD, "accuracy")
    mixed = blend(STUDENT, TEACHER, choice.weight)
    assert choice.dev_score == 1.0
    assert mixed.argmax(axis=1).tolist() == GOLD.tolist()
    assert 0.0 < choice.weight < 1.0  # neither model alone gets all three right


def test_the_routing_budget_keeps_the_throughput_ratio_at_the_target() -> None:
    budget = max_routed_fraction(10.0, 100.0, bench_ratio=2.0, target=1.5)
    assert 2.0 * 10.0 / (10.0 + budget * 100.0) == pytest.approx(1.5)
    assert max_routed_fraction(10.0, 100.0, bench_ratio=1.2, target=1.5) == 0.0


def test_the_joint_cascade_spends_the_budget_where_dev_gains_most() -> None:
    curves = {
        "intent": [CascadePoint(0.0, 0.0, 0.90), CascadePoint(0.5, 0.04, 0.93)],
        "sentiment": [CascadePoint(0.0, 0.0, 0.70), CascadePoint(0.5, 0.03, 0.71)],
    }
    chosen = choose_joint_cascade(curves, max_routed=0.05)
    assert (chosen["intent"].threshold, chosen["sentiment"].threshold) == (0.5, 0.0)
    both = choose_joint_cascade(curves, max_routed=0.07)
    assert (both["intent"].threshold, both["sentiment"].threshold) == (0.5, 0.5)
