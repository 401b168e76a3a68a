from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from services.classify.explanations import Pieces, Variant
from training.classify.evaluate_explanations import (
    DeletionScores,
    pieces_to_remove,
    report,
    score_text,
    top_positions,
)

KEY = 7  # the id whose presence decides the class

# [CLS] a b KEY c d [SEP]: five content pieces, KEY at position 3.
PIECES = Pieces(
    text="a b k c d",
    ids=(101, 1, 2, KEY, 3, 4, 102),
    spans=((0, 0), (0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (0, 0)),
    content=(1, 2, 3, 4, 5),
)


def _probability(variants: Sequence[Variant]) -> np.ndarray:
    return np.array([0.9 if KEY in v.ids else 0.1 for v in variants])


def _scores(weights: list[float], texts: int = 1) -> dict[str, object]:
    scores = DeletionScores()
    rng = np.random.default_rng(0)
    for _ in range(texts):
        score_text(PIECES, weights, _probability, scores, rng)
    return report(scores)


def test_pieces_to_remove_rounds_half_up_and_removes_at_least_one() -> None:
    assert pieces_to_remove(10, 0.05) == 1
    assert pieces_to_remove(10, 0.2) == 2
    assert pieces_to_remove(5, 0.5) == 3
    assert pieces_to_remove(1, 0.5) == 1
    assert pieces_to_remove(40, 0.2) == 8


def test_top_positions_ranks_by_weight_and_breaks_ties_by_text_order() -> None:
    assert top_positions([1, 2, 3, 4], [0.1, 0.5, 0.5, -0.9], 2) == [2, 3]


def test_an_explanation_that_ranks_the_deciding_piece_first_is_fully_comprehensive() -> None:
    result = _scores([0.0, 0.1, 0.8, -0.1, 0.0])
    assert result["comprehensiveness"] == pytest.approx(0.8)
    assert result["sufficiency"] == pytest.approx(0.0)
    assert result["aopc_comprehensiveness"] == pytest.approx(0.8)
    assert result["leave_one_out_comprehensiveness"] == pytest.approx(0.8)
    assert result["most_negative_comprehensiveness"] == pytest.approx(0.0)
    assert result["n"] == 1


def test_inverted_weights_score_below_random() -> None:
    right = _scores([0.0, 0.1, 0.8, -0.1, 0.0], texts=20)
    inverted = _scores([-0.0, -0.1, -0.8, 0.1, -0.0], texts=20)
    # k = 1 of 5 at 20%: a random piece is KEY one time in five.
    assert 0.0 < right["random_comprehensiveness"] < 0.8  # type: ignore[operator]
    assert inverted["comprehensiveness"] == pytest.approx(0.0)
    assert inverted["sufficiency"] == pytest.approx(0.8)
    assert right["comprehensiveness_vs_random"] > 2.5  # type: ignore[operator]


def test_a_weight_per_piece_is_required() -> None:
    with pytest.raises(ValueError):
        _scores([0.1, 0.2])
