"""`dev_ablation.ablate`: the served blend on dev with each part taken out, and the head's
temperature judged on rows it was not fitted on."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from services.classify.head import softmax
from training.classify.dev_ablation import ablate, render


def overconfident_logits(
    n: int, seed: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Logits whose labels were drawn at temperature 2.5: T = 1 is far too sure."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 3.0, size=(n, 3)).astype(np.float32)
    probs = softmax(logits / np.float32(2.5))
    gold = np.array([rng.choice(3, p=p / p.sum()) for p in probs], dtype=np.int64)
    return logits, gold


def test_a_cross_fitted_temperature_beats_t_1_on_rows_it_was_not_fitted_on() -> None:
    logits, gold = overconfident_logits(4000, seed=0)

    rows = {r.variant: r for r in ablate(logits, 2.5, [], gold, "accuracy")}

    untempered = rows["head alone, T 1"]
    cross_fitted = rows["head alone, T fitted on the other half of dev"]
    assert cross_fitted.log_loss < untempered.log_loss - 0.05
    assert cross_fitted.ece < untempered.ece
    assert cross_fitted.score == untempered.score  # a temperature never moves the argmax
    assert set(rows) == {
        "head alone, T 1",
        "head alone, T fitted on the other half of dev",
        "head alone, T 2.5 (fitted on all of dev)",
    }


def test_the_served_row_is_the_shared_blend_and_each_part_can_be_left_out() -> None:
    logits, gold = overconfident_logits(300, seed=1)
    rng = np.random.default_rng(2)
    votes = softmax(rng.normal(size=(300, 3)).astype(np.float32))
    perfect = np.eye(3, dtype=np.float32)[gold]

    rows = ablate(
        logits, 2.0, [("votes", 0.25, votes), ("oracle", 0.25, perfect)], gold, "macro_recall"
    )

    by_name = {r.variant: r for r in rows}
    served = 0.5 * softmax(logits / np.float32(2.0)) + 0.25 * votes + 0.25 * perfect
    picked = served[np.arange(300), gold]
    assert by_name["served"].log_loss == pytest.approx(-np.mean(np.log(picked)), abs=1e-4)
    assert by_name["served"].score > by_name["served less oracle"].score
    assert "served less votes" in by_name and "served, head at T 1" in by_name


def test_a_head_served_at_t_1_gets_no_second_t_1_row() -> None:
    logits, gold = overconfident_logits(300, seed=4)
    votes = softmax(np.random.default_rng(5).normal(size=(300, 3)).astype(np.float32))

    rows = ablate(logits, 1.0, [("n-grams", 0.35, votes)], gold, "macro_recall")

    assert [r.variant for r in rows] == [
        "head alone, T 1",
        "head alone, T fitted on the other half of dev",
        "served",
    ]
    served = 0.65 * softmax(logits) + 0.35 * votes
    picked = served[np.arange(300), gold]
    assert rows[-1].log_loss == pytest.approx(-np.mean(np.log(picked)), abs=1e-4)


def test_render_prints_one_markdown_row_per_variant() -> None:
    logits, gold = overconfident_logits(50, seed=3)
    rows = ablate(logits, 2.5, [], gold, "accuracy")

    table = render("intent", 50, rows).splitlines()
    assert table[0] == "| intent dev (n=50) | accuracy | log loss | ECE |"
    assert len(table) == 2 + len(rows)
