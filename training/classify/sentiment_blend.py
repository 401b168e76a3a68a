"""How the n-gram model joins the served sentiment distribution, and the head's temperature in it.

The served distribution is (1 - w) x encoder side + w x softmax(n-gram logits / T_ngram), where
the encoder side is the head at temperature T_head plus any other component (exemplar votes).
All three are chosen on texts no part was fitted on (`add_ngrams`):

* T_ngram: the n-gram model's own NLL on its out-of-fold logits;
* w: the best macro recall, the blend's log loss breaking ties, with the head at T 1;
* T_head: 1, unless a temperature fitted on the blend's log loss beats T 1 on rows it was not
  fitted on (cross-fitted on two halves). A temperature fitted on the head alone calibrates
  the head alone; once blended, its gain need not survive (it did not for v5: issue 17).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from services.classify.head import SoftmaxHead, softmax
from services.classify.ngrams import NgramModel
from services.classify.pipeline import TaskPipeline, Weighted
from training.classify.exemplars import log_loss, score
from training.classify.fit import fit_temperature, minimising_temperature

BLEND_WEIGHTS = tuple(round(0.05 * i, 2) for i in range(21))  # the n-gram model's share

Probabilities = npt.NDArray[np.float32]


@dataclass(frozen=True)
class EncoderSide:
    """The served distribution less the n-grams, on the selection texts, at any head
    temperature: head_share x softmax(head_logits / T) + rest (the other parts, weighted)."""

    head_logits: npt.NDArray[np.float32]
    head_share: float = 1.0
    rest: Probabilities | None = None

    @classmethod
    def of(
        cls, pipeline: TaskPipeline, vectors: npt.NDArray[np.float32], texts: Sequence[str]
    ) -> EncoderSide:
        """`pipeline` (no n-grams) on the selection texts, given as sentence vectors + text."""
        others = [part for part in pipeline.components if part.component is not pipeline.head]
        rest = sum(part.share * part.component.distribution(vectors, texts) for part in others)
        head_share = 1.0 - sum(part.share for part in others)
        logits = pipeline.head.logits(vectors)
        return cls(logits, head_share, np.asarray(rest, dtype=np.float32) if others else None)

    def probabilities(self, temperature: float) -> Probabilities:
        head = self.head_share * softmax(self.head_logits / np.float32(temperature))
        return np.asarray(head if self.rest is None else head + self.rest, dtype=np.float32)

    def take(self, rows: npt.NDArray[np.int64]) -> EncoderSide:
        rest = None if self.rest is None else self.rest[rows]
        return EncoderSide(self.head_logits[rows], self.head_share, rest)


@dataclass(frozen=True)
class NgramBlendChoice:
    temperature: float  # the n-gram model's
    weight: float  # its share of the served distribution
    head_temperature: float
    selection_size: int
    selection_score: float  # macro recall of the served blend on the selection texts
    selection_log_loss: float  # ... and its log loss
    encoder_score: float  # macro recall of the encoder side alone, head at T 1
    ngram_score: float  # ... of the n-gram model alone
    # The served blend's log loss on each half of the selection at a head temperature fitted on
    # the other half, against T 1 on the same rows (averaged over both halves).
    cross_fitted_log_loss: float
    t1_log_loss: float


def choose_blend(
    encoder: EncoderSide,
    ngram_logits: npt.NDArray[np.float32],
    gold: npt.NDArray[np.int64],
    seed: int = 0,
) -> NgramBlendChoice:
    """T_ngram, w and T_head as the module says, on the selection texts' out-of-fold n-gram
    logits and gold labels; `seed` draws the two halves the head's temperature is judged on."""
    temperature = fit_temperature(ngram_logits, gold)
    ngrams = softmax(ngram_logits / np.float32(temperature))
    weight = _best_weight(encoder.probabilities(1.0), ngrams, gold)
    halves = np.array_split(np.random.default_rng(seed).permutation(len(gold)), 2)
    cross_fitted = t1 = 0.0
    for fit_rows, scored_rows in ((halves[0], halves[1]), (halves[1], halves[0])):
        fitted = _blend_head_temperature(
            encoder.take(fit_rows), ngrams[fit_rows], weight, gold[fit_rows]
        )
        scored = encoder.take(scored_rows), ngrams[scored_rows], weight, gold[scored_rows]
        cross_fitted += _blend_log_loss(*scored, fitted) * len(scored_rows) / len(gold)
        t1 += _blend_log_loss(*scored, 1.0) * len(scored_rows) / len(gold)
    head_temperature = (
        _blend_head_temperature(encoder, ngrams, weight, gold) if cross_fitted < t1 else 1.0
    )
    served = _blend(encoder.probabilities(head_temperature), ngrams, weight)
    return NgramBlendChoice(
        temperature=round(temperature, 4),
        weight=weight,
        head_temperature=round(head_temperature, 4),
        selection_size=len(gold),
        selection_score=round(score(served, gold, "macro_recall"), 4),
        selection_log_loss=round(log_loss(served, gold), 4),
        encoder_score=round(score(encoder.probabilities(1.0), gold, "macro_recall"), 4),
        ngram_score=round(score(ngrams, gold, "macro_recall"), 4),
        cross_fitted_log_loss=round(cross_fitted, 4),
        t1_log_loss=round(t1, 4),
    )


def with_ngrams(base: TaskPipeline, choice: NgramBlendChoice, model: NgramModel) -> TaskPipeline:
    """`base` (without n-grams) serving `model` at the chosen share, its head at the chosen
    temperature."""
    parts = tuple(
        Weighted(
            part.share,
            replace(part.component, temperature=choice.head_temperature)
            if isinstance(part.component, SoftmaxHead)
            else part.component,
        )
        for part in base.components
    )
    return TaskPipeline(parts).with_component(choice.weight, model)


def without_ngrams(pipeline: TaskPipeline) -> TaskPipeline:
    """`pipeline` less its n-gram model, the other parts keeping their relative shares: the
    base on which `add_ngrams` chooses the blend again."""
    kept = [part for part in pipeline.components if not isinstance(part.component, NgramModel)]
    total = sum(part.share for part in kept)
    return TaskPipeline(tuple(Weighted(part.share / total, part.component) for part in kept))


def _best_weight(
    encoder: Probabilities, ngrams: Probabilities, gold: npt.NDArray[np.int64]
) -> float:
    def rank(weight: float) -> tuple[float, float]:
        mixed = _blend(encoder, ngrams, weight)
        return score(mixed, gold, "macro_recall"), -log_loss(mixed, gold)

    return max(BLEND_WEIGHTS, key=rank)  # the first of equals: the smaller share


def _blend_head_temperature(
    encoder: EncoderSide, ngrams: Probabilities, weight: float, gold: npt.NDArray[np.int64]
) -> float:
    return minimising_temperature(lambda t: _blend_log_loss(encoder, ngrams, weight, gold, t))


def _blend_log_loss(
    encoder: EncoderSide,
    ngrams: Probabilities,
    weight: float,
    gold: npt.NDArray[np.int64],
    head_temperature: float,
) -> float:
    return log_loss(_blend(encoder.probabilities(head_temperature), ngrams, weight), gold)


def _blend(encoder: Probabilities, ngrams: Probabilities, weight: float) -> Probabilities:
    return np.asarray((1.0 - weight) * encoder + weight * ngrams, dtype=np.float32)
