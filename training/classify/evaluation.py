"""Classification metrics in numpy: accuracy, macro recall/F1, per-class scores, ECE.

Macro averages run over the labels that occur in the gold labels or the predictions (as
scikit-learn does by default), so a held-out file with a few intents is scored on those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from services.classify.prediction import Prediction


@dataclass(frozen=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvaluationReport:
    accuracy: float
    macro_recall: float
    macro_f1: float
    ece: float
    n: int
    per_class: dict[str, ClassScores]

    def to_json(self) -> dict[str, Any]:
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_recall": round(self.macro_recall, 4),
            "macro_f1": round(self.macro_f1, 4),
            "ece": round(self.ece, 4),
            "n": self.n,
            "per_class": {
                label: {
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                    "support": s.support,
                }
                for label, s in self.per_class.items()
            },
        }


def per_class_scores(
    y_true: npt.NDArray[np.int64], y_pred: npt.NDArray[np.int64], n_classes: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], Any]:
    """Precision, recall, F1 and support per class index (0 where undefined)."""
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return precision, recall, f1, support


def expected_calibration_error(
    confidence: npt.NDArray[np.float64], correct: npt.NDArray[np.bool_], n_bins: int = 15
) -> float:
    """Top-label ECE: sum over equal-width confidence bins of |accuracy - confidence| * share."""
    if confidence.size == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            gap = abs(float(correct[in_bin].mean()) - float(confidence[in_bin].mean()))
            ece += gap * float(in_bin.mean())
    return ece


def evaluate(
    gold: Sequence[str],
    predicted: Sequence[str],
    confidence: Sequence[float],
    labels: Sequence[str],
) -> EvaluationReport:
    """Score predicted labels (with the model's confidence in them) against gold labels."""
    if not len(gold) == len(predicted) == len(confidence):
        raise ValueError("gold, predicted and confidence must have the same length")
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({g for g in gold if g not in index} | {p for p in predicted if p not in index})
    if unknown:
        raise ValueError(f"labels not in the label set: {unknown[:10]}")
    y_true = np.fromiter((index[g] for g in gold), dtype=np.int64, count=len(gold))
    y_pred = np.fromiter((index[p] for p in predicted), dtype=np.int64, count=len(predicted))
    precision, recall, f1, support = per_class_scores(y_true, y_pred, len(labels))
    present = np.zeros(len(labels), dtype=bool)
    present[y_true] = True
    present[y_pred] = True
    n = len(gold)
    return EvaluationReport(
        accuracy=float((y_true == y_pred).mean()) if n else 0.0,
        macro_recall=float(recall[present].mean()) if n else 0.0,
        macro_f1=float(f1[present].mean()) if n else 0.0,
        ece=expected_calibration_error(np.asarray(confidence, dtype=np.float64), y_true == y_pred),
        n=n,
        per_class={
            labels[i]: ClassScores(
                float(precision[i]), float(recall[i]), float(f1[i]), int(support[i])
            )
            for i in np.flatnonzero(present).tolist()
        },
    )


def evaluate_predictions(
    task: Literal["intent", "sentiment"],
    gold: Sequence[str],
    predictions: Sequence[Prediction],
    labels: Sequence[str],
) -> EvaluationReport:
    """Score engine output for one task against gold labels of that task."""
    if task == "intent":
        predicted = [p.intent for p in predictions]
        confidence = [p.intent_confidence for p in predictions]
    else:
        predicted = [p.sentiment for p in predictions]
        confidence = [p.sentiment_confidence for p in predictions]
    return evaluate(gold, predicted, confidence, labels)
