"""Builds a head's exemplar memory (`ExemplarIndex`) and chooses how it votes.

k, the vote temperature, label balancing and the blend weight are chosen by the head's own
metric on the dev split (accuracy for intent, macro recall for sentiment, which is what each is
judged by), voting with the training split's vectors; ties go to the lower log loss. The
shipped index then holds training *and* dev messages, as a refit after model selection would;
the held-out split is never in it. So the served engine scored on the dev split is leaky: the
dev figures of record are these selection-time ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from services.classify.exemplars import ExemplarIndex, stored_form
from services.classify.head import SoftmaxHead

Metric = Literal["accuracy", "macro_recall"]
K_CHOICES = (3, 5, 10, 20, 50)
TEMPERATURE_CHOICES = (0.02, 0.05, 0.1)
WEIGHT_CHOICES = (0.25, 0.5, 0.75, 1.0)
BALANCED_CHOICES = (False, True)


@dataclass(frozen=True)
class ExemplarChoice:
    k: int
    temperature: float
    weight: float
    balanced: bool
    metric: Metric
    dev_score: float
    dev_log_loss: float
    head_dev_score: float  # the head alone, for comparison


def score(
    probabilities: npt.NDArray[np.float32], gold: npt.NDArray[np.int64], metric: Metric
) -> float:
    predicted = probabilities.argmax(axis=1)
    if metric == "accuracy":
        return float(np.mean(predicted == gold))
    return float(np.mean([np.mean(predicted[gold == label] == label) for label in np.unique(gold)]))


def log_loss(probabilities: npt.NDArray[np.float32], gold: npt.NDArray[np.int64]) -> float:
    """Mean negative log probability of the gold labels (floored, so a 0 is finite)."""
    picked = probabilities[np.arange(len(gold)), gold]
    return float(-np.mean(np.log(np.maximum(picked, 1e-7))))


def choose_exemplar_settings(
    head: SoftmaxHead,
    train: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    dev: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    metric: Metric,
) -> ExemplarChoice:
    """The settings with the best dev `metric`, votes from `train`."""
    dev_vectors, dev_ids = dev
    head_probabilities = head.probabilities(dev_vectors)
    best: tuple[tuple[float, float], ExemplarChoice] | None = None
    for k, temperature, weight, balanced in itertools.product(
        [k for k in K_CHOICES if k <= len(train[1])],
        TEMPERATURE_CHOICES,
        WEIGHT_CHOICES,
        BALANCED_CHOICES,
    ):
        index = ExemplarIndex(train[0], train[1], len(head.labels), k, temperature, balanced)
        # As the served pipeline mixes them (services.classify.pipeline).
        probabilities = (1.0 - weight) * head_probabilities + weight * index.votes(dev_vectors)
        value = score(probabilities, dev_ids, metric)
        loss = log_loss(probabilities, dev_ids)
        rank = (value, -loss)
        if best is None or rank > best[0]:
            choice = ExemplarChoice(
                k=k,
                temperature=temperature,
                weight=weight,
                balanced=balanced,
                metric=metric,
                dev_score=round(value, 4),
                dev_log_loss=round(loss, 4),
                head_dev_score=round(score(head_probabilities, dev_ids, metric), 4),
            )
            best = (rank, choice)
    assert best is not None  # the grids are not empty
    return best[1]


def build_exemplars(
    head: SoftmaxHead,
    train: tuple[npt.NDArray[np.float32], Sequence[str]],
    dev: tuple[npt.NDArray[np.float32], Sequence[str]],
    metric: Metric,
) -> tuple[ExemplarIndex, ExemplarChoice]:
    """Choose the vote settings on `dev`, then index `train` + `dev` with them."""
    index = {label: i for i, label in enumerate(head.labels)}
    train_ids = np.array([index[x] for x in train[1]], dtype=np.int64)
    dev_ids = np.array([index[x] for x in dev[1]], dtype=np.int64)
    choice = choose_exemplar_settings(head, (train[0], train_ids), (dev[0], dev_ids), metric)
    exemplars = ExemplarIndex(
        vectors=stored_form(np.concatenate([train[0], dev[0]]).astype(np.float32)),
        label_ids=np.concatenate([train_ids, dev_ids]),
        n_labels=len(head.labels),
        k=choice.k,
        temperature=choice.temperature,
        balanced=choice.balanced,
    )
    return exemplars, choice
