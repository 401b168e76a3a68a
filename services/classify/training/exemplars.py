"""Builds the intent head's exemplar memory (`ExemplarIndex`) and chooses how it votes.

k, the vote temperature and the blend weight are chosen by intent accuracy on the validation
split, voting with the training split's vectors (ties: lower log loss). The shipped index then
holds training *and* validation messages, as a refit after model selection would; the held-out
split is never in it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.classify.bundle import SoftmaxHead
from services.classify.exemplars import ExemplarIndex

K_CHOICES = (3, 5, 10, 20)
TEMPERATURE_CHOICES = (0.02, 0.05, 0.1)
WEIGHT_CHOICES = (0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class ExemplarChoice:
    k: int
    temperature: float
    weight: float
    val_accuracy: float
    val_log_loss: float
    head_val_accuracy: float  # the head alone, for comparison


def choose_exemplar_settings(
    head: SoftmaxHead,
    train: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    val: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
) -> ExemplarChoice:
    """The (k, temperature, weight) with the best validation accuracy, votes from `train`."""
    val_vectors, val_ids = val
    head_probabilities = head.probabilities(val_vectors)
    best: tuple[tuple[float, float], ExemplarChoice] | None = None
    for k, temperature, weight in itertools.product(K_CHOICES, TEMPERATURE_CHOICES, WEIGHT_CHOICES):
        index = ExemplarIndex(train[0], train[1], len(head.labels), k, temperature, weight)
        probabilities = index.blend(head_probabilities, val_vectors)
        accuracy = float(np.mean(probabilities.argmax(axis=1) == val_ids))
        picked = probabilities[np.arange(len(val_ids)), val_ids]
        log_loss = float(-np.mean(np.log(np.maximum(picked, 1e-7))))
        rank = (accuracy, -log_loss)
        if best is None or rank > best[0]:
            best = (
                rank,
                ExemplarChoice(
                    k=k,
                    temperature=temperature,
                    weight=weight,
                    val_accuracy=round(accuracy, 4),
                    val_log_loss=round(log_loss, 4),
                    head_val_accuracy=round(
                        float(np.mean(head_probabilities.argmax(axis=1) == val_ids)), 4
                    ),
                ),
            )
    assert best is not None  # the grids are not empty
    return best[1]


def build_intent_exemplars(
    head: SoftmaxHead,
    train: tuple[npt.NDArray[np.float32], Sequence[str]],
    val: tuple[npt.NDArray[np.float32], Sequence[str]],
) -> tuple[ExemplarIndex, ExemplarChoice]:
    """Choose the vote settings on `val`, then index `train` + `val` with them."""
    index = {label: i for i, label in enumerate(head.labels)}
    train_ids = np.array([index[x] for x in train[1]], dtype=np.int64)
    val_ids = np.array([index[x] for x in val[1]], dtype=np.int64)
    choice = choose_exemplar_settings(head, (train[0], train_ids), (val[0], val_ids))
    exemplars = ExemplarIndex(
        vectors=np.concatenate([train[0], val[0]]).astype(np.float32),
        label_ids=np.concatenate([train_ids, val_ids]),
        n_labels=len(head.labels),
        k=choice.k,
        temperature=choice.temperature,
        weight=choice.weight,
    )
    return exemplars, choice
