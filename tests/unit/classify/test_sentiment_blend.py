"""`sentiment_blend`: the n-grams' share and temperature, and the head's temperature in the served
blend, chosen on held-out texts; and the pipeline that serves the choice."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest

from services.classify.exemplars import ExemplarIndex
from services.classify.head import SoftmaxHead, softmax
from services.classify.ngrams import NgramFeaturizer, NgramModel
from services.classify.pipeline import TaskPipeline
from training.classify.sentiment_blend import (
    EncoderSide,
    NgramBlendChoice,
    choose_blend,
    with_ngrams,
    without_ngrams,
)

LABELS = ("negative", "neutral", "positive")


def drawn_at(
    temperature: float, n: int, seed: int, ngram_noise: float
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Head logits, labels drawn from softmax(logits / temperature) (the head is calibrated at
    that temperature), and n-gram logits: the gold label's one-hot plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 4.0, size=(n, 3)).astype(np.float32)
    probs = softmax(logits / np.float32(temperature))
    gold = np.array([rng.choice(3, p=p / p.sum()) for p in probs], dtype=np.int64)
    ngrams = (np.eye(3)[gold] + rng.normal(0.0, ngram_noise, size=(n, 3))).astype(np.float32)
    return logits, gold, ngrams


def test_blend_weight_follows_how_much_the_ngrams_add() -> None:
    rng = np.random.default_rng(1)
    gold = rng.integers(0, 3, size=600)
    # The encoder is right on the first half only; the n-grams are right everywhere, or never.
    encoder = np.full((600, 3), 0.2, dtype=np.float32)
    encoder[np.arange(300), gold[:300]] = 0.6
    encoder[np.arange(300, 600), (gold[300:] + 1) % 3] = 0.6
    helpful = np.where(np.arange(3) == gold[:, None], 2.0, 0.0).astype(np.float32)
    useless = np.where(np.arange(3) == (gold[:, None] + 2) % 3, 2.0, 0.0).astype(np.float32)
    head = EncoderSide(np.log(encoder))  # softmax at T 1 gives the encoder's distribution back

    chosen = choose_blend(head, helpful, gold)
    assert chosen.weight >= 0.5 and chosen.selection_score == 1.0
    assert chosen.encoder_score == pytest.approx(0.5, abs=0.01)
    # Always wrong: its fitted temperature flattens it, and the blend scores as the encoder.
    ignored = choose_blend(head, useless, gold)
    assert ignored.ngram_score == 0.0
    assert ignored.selection_score == ignored.encoder_score


def test_a_temperature_that_only_fits_the_rows_it_was_fitted_on_leaves_the_head_at_t_1() -> None:
    # The halves `choose_blend` cross-fits on (seed 0) disagree: the head is overconfident at
    # T 1 on one (calibrated at T 2), underconfident on the other (calibrated at T 0.5), so each
    # half's fitted temperature makes the other half worse.
    logits, gold, ngrams = drawn_at(2.0, 4000, seed=1, ngram_noise=2.0)
    logits[np.array_split(np.random.default_rng(0).permutation(4000), 2)[1]] /= 4.0

    chosen = choose_blend(EncoderSide(logits), ngrams, gold)

    assert chosen.weight > 0.0
    assert chosen.cross_fitted_log_loss > chosen.t1_log_loss
    assert chosen.head_temperature == 1.0


def test_a_temperature_that_lowers_the_blends_log_loss_on_unseen_rows_is_kept() -> None:
    # An overconfident head (calibrated at T 3) and n-grams that add nothing.
    logits, gold, ngrams = drawn_at(3.0, 3000, seed=1, ngram_noise=10.0)

    chosen = choose_blend(EncoderSide(logits), ngrams, gold)

    assert chosen.cross_fitted_log_loss < chosen.t1_log_loss - 0.1
    assert chosen.head_temperature == pytest.approx(3.0, rel=0.1)
    served = (1 - chosen.weight) * softmax(logits / np.float32(chosen.head_temperature))
    served += chosen.weight * softmax(ngrams / np.float32(chosen.temperature))
    picked = served[np.arange(len(gold)), gold]
    assert chosen.selection_log_loss == pytest.approx(-np.mean(np.log(picked)), abs=1e-3)


def tiny_head(temperature: float) -> SoftmaxHead:
    kernel = np.random.default_rng(3).normal(size=(4, 3)).astype(np.float32)
    return SoftmaxHead(LABELS, kernel, np.zeros(3, np.float32), temperature)


def tiny_ngrams(temperature: float) -> NgramModel:
    featurizer = NgramFeaturizer(bits=4)
    size = featurizer.size
    weights = np.random.default_rng(4).normal(size=(size, 3)).astype(np.float32)
    return NgramModel(
        featurizer, np.ones(size, np.float32), weights, np.zeros(3, np.float32), temperature
    )


def choice(weight: float, head_temperature: float) -> NgramBlendChoice:
    return NgramBlendChoice(
        temperature=0.8,
        weight=weight,
        head_temperature=head_temperature,
        selection_size=10,
        selection_score=0.7,
        selection_log_loss=0.6,
        encoder_score=0.7,
        ngram_score=0.6,
        cross_fitted_log_loss=0.61,
        t1_log_loss=0.6,
    )


def test_a_served_blend_chosen_again_gets_the_new_share_and_head_temperature() -> None:
    head = tiny_head(1.2452)
    served = TaskPipeline.head_only(head).with_component(0.3, tiny_ngrams(0.8))
    refitted = tiny_ngrams(0.75)

    base = without_ngrams(served)
    again = with_ngrams(base, choice(0.35, 1.0), refitted)

    assert [part.share for part in base.components] == [1.0]
    assert [part.share for part in again.components] == pytest.approx([0.65, 0.35])
    assert again.head.temperature == 1.0 and again.ngrams is refitted
    np.testing.assert_array_equal(again.head.kernel, head.kernel)
    assert served.head.temperature == 1.2452  # the old pipeline is left as it was


def test_the_encoder_side_holds_the_other_parts_at_their_relative_shares() -> None:
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(6, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    memory = ExemplarIndex(vectors, np.array([0, 1, 2, 0, 1, 2]), 3, k=2, temperature=0.1)
    head = tiny_head(2.0)
    served = TaskPipeline.head_only(head).with_component(0.4, memory)
    served = served.with_component(0.2, tiny_ngrams(1.0))
    texts = ["a"] * 6

    side = EncoderSide.of(without_ngrams(served), vectors, texts)

    assert side.head_share == pytest.approx(0.6)
    expected = 0.6 * head.probabilities(vectors) + 0.4 * memory.votes(vectors)
    np.testing.assert_allclose(side.probabilities(2.0), expected, atol=1e-6)
    untempered = without_ngrams(served).components
    at_t1 = TaskPipeline(
        (replace(untempered[0], component=replace(head, temperature=1.0)), untempered[1])
    )
    np.testing.assert_allclose(
        side.probabilities(1.0), at_t1.probabilities(vectors, texts), atol=1e-6
    )
