from __future__ import annotations

import numpy as np
import pytest

from training.classify.evaluation import evaluate, expected_calibration_error


def test_metrics_on_a_hand_computed_example() -> None:
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    report = evaluate(gold, pred, [0.9] * 6, ["a", "b", "c"])
    assert report.n == 6
    assert report.accuracy == pytest.approx(4 / 6)
    # recall a=2/3, b=1/2, c=1; precision a=1, b=1/2, c=1/2
    assert report.macro_recall == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    f1 = [2 * 1 * (2 / 3) / (1 + 2 / 3), 0.5, 2 * 0.5 * 1 / 1.5]
    assert report.macro_f1 == pytest.approx(sum(f1) / 3)
    assert report.per_class["a"].precision == pytest.approx(1.0)
    assert report.per_class["c"].recall == pytest.approx(1.0)
    assert report.per_class["b"].support == 2


def test_macro_averages_skip_labels_absent_from_gold_and_predictions() -> None:
    report = evaluate(["a", "b"], ["a", "b"], [1.0, 1.0], ["a", "b", "unused"])
    assert report.macro_recall == pytest.approx(1.0)
    assert set(report.per_class) == {"a", "b"}


def test_ece_is_zero_when_confidence_equals_accuracy() -> None:
    confidence = np.full(10, 0.7)
    correct = np.array([True] * 7 + [False] * 3)
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.0)


def test_ece_weights_each_bin_gap_by_its_share() -> None:
    confidence = np.array([0.95, 0.95, 0.55, 0.55])
    correct = np.array([True, True, False, False])
    # bin 0.93-1.0: |1 - 0.95| * 0.5; bin 0.53-0.6: |0 - 0.55| * 0.5
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.025 + 0.275)


def test_ece_puts_confidence_one_into_the_last_bin() -> None:
    assert expected_calibration_error(np.array([1.0]), np.array([True])) == pytest.approx(0.0)


def test_unknown_gold_labels_are_rejected() -> None:
    with pytest.raises(ValueError, match="zzz"):
        evaluate(["zzz"], ["a"], [0.5], ["a"])


def test_json_report_has_the_documented_keys() -> None:
    payload = evaluate(["a"], ["a"], [0.8], ["a"]).to_json()
    assert set(payload) == {"accuracy", "macro_recall", "macro_f1", "ece", "n", "per_class"}
    assert set(payload["per_class"]["a"]) == {"precision", "recall", "f1", "support"}
