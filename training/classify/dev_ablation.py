"""`python -m training.classify.dev_ablation`: does each served part earn its place on dev?

    python -m training.classify.dev_ablation --bundle models/classify/v6 \\
        --data-dir ../shared/datasets

Scores each task's served pipeline on its dev split with one part at a time taken out: the
head's temperature (set to 1), each other component (exemplar votes, n-grams). The dev rows
must not be inside what is scored, so the components are rebuilt as they were when chosen:
exemplar votes from the training split only (the shipped memory also holds dev), n-gram
logits out of fold (the shipped model was refitted on the dev tweets). A temperature is fitted
on the dev rows themselves, so its calibration is also shown cross-fitted: fitted on one half
of dev, scored on the other. Prints one markdown table per task; a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from servicekit.cache import user_cache_dir
from services.classify.head import softmax
from training.classify.evaluation import expected_calibration_error
from training.classify.exemplars import Metric, log_loss, score
from training.classify.fit import fit_temperature

if TYPE_CHECKING:
    from services.classify.bundle import ModelBundle
    from services.classify.exemplars import ExemplarIndex
    from services.classify.ngrams import NgramModel
    from textencoder import SentenceEncoder
    from textencoder.quantized import Int8Encoder
    from training.classify.datasets import LabeledTexts
    from training.classify.ngrams import NgramTrainingConfig
    from training.classify.train import Splits

METRICS: dict[str, Metric] = {"intent": "accuracy", "sentiment": "macro_recall"}


@dataclass(frozen=True)
class AblationRow:
    variant: str
    score: float  # the task's metric: intent accuracy, sentiment macro recall
    log_loss: float
    ece: float


def ablate(
    head_logits: npt.NDArray[np.float32],
    temperature: float,
    others: Sequence[tuple[str, float, npt.NDArray[np.float32]]],
    gold: npt.NDArray[np.int64],
    metric: Metric,
    seed: int = 0,
) -> list[AblationRow]:
    """Rows for the head (T 1, T cross-fitted, the served T) and the served blend with and
    without each part. `others` are (name, share, distribution on the dev rows)."""
    head_share = 1.0 - sum(share for _, share, _ in others)

    def blend(head: npt.NDArray[np.float32], skip: str = "") -> npt.NDArray[np.float32]:
        kept = [(share, p) for name, share, p in others if name != skip]
        total = head_share + sum(share for share, _ in kept)
        mixed = head_share * head + sum(share * p for share, p in kept)
        return np.asarray(mixed / total, dtype=np.float32)

    untempered = softmax(head_logits)
    served_head = softmax(head_logits / np.float32(temperature))
    tempered = temperature != 1.0  # else the served head is the T 1 row: no row twice
    variants = [
        ("head alone, T 1", untempered),
        ("head alone, T fitted on the other half of dev", _cross_fitted(head_logits, gold, seed)),
    ]
    if tempered:
        variants += [(f"head alone, T {temperature:.4g} (fitted on all of dev)", served_head)]
    if len(others) > 1:  # with one other part, "served less it" is the head alone above
        variants += [(f"served less {name}", blend(served_head, name)) for name, _, _ in others]
    if others and tempered:
        variants += [("served, head at T 1", blend(untempered))]
    if others:
        variants += [("served", blend(served_head))]
    return [_row(name, p, gold, metric) for name, p in variants]


def _cross_fitted(
    logits: npt.NDArray[np.float32], gold: npt.NDArray[np.int64], seed: int
) -> npt.NDArray[np.float32]:
    halves = np.array_split(np.random.default_rng(seed).permutation(len(gold)), 2)
    out = np.empty_like(logits)
    for fit_rows, scored_rows in ((halves[0], halves[1]), (halves[1], halves[0])):
        t = fit_temperature(logits[fit_rows], gold[fit_rows])
        out[scored_rows] = softmax(logits[scored_rows] / np.float32(t))
    return out


def _row(
    variant: str, p: npt.NDArray[np.float32], gold: npt.NDArray[np.int64], metric: Metric
) -> AblationRow:
    return AblationRow(
        variant=variant,
        score=round(score(p, gold, metric), 4),
        log_loss=round(log_loss(p, gold), 4),
        ece=round(expected_calibration_error(p.max(axis=1), p.argmax(axis=1) == gold), 4),
    )


def render(task: str, n: int, rows: Sequence[AblationRow]) -> str:
    lines = [
        f"| {task} dev (n={n:,}) | {METRICS[task].replace('_', ' ')} | log loss | ECE |",
        "|---|---|---|---|",
        *(f"| {r.variant} | {r.score} | {r.log_loss} | {r.ece} |" for r in rows),
    ]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.classify.dev_ablation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bundle", type=Path, required=True, help="the bundle to ablate")
    parser.add_argument(
        "--data-dir", type=Path, required=True, help="holds banking77/ and tweeteval_sentiment/"
    )
    parser.add_argument(
        "--forward",
        choices=("int8", "float32"),
        default="int8",
        help="forward pass that embeds the dev and training texts; match the serving one",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=user_cache_dir(), help="the split files go to its eval/"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Imported here so TF_CPP_MIN_LOG_LEVEL is set before TensorFlow loads.
    from services.classify.bundle import load_bundle
    from training.classify.bundle_data import bundle_splits, served_forward
    from training.classify.command import configure_command_logging

    configure_command_logging()
    bundle = load_bundle(args.bundle)
    splits = bundle_splits(bundle, args.data_dir, args.cache_dir)
    forward = served_forward(bundle, args.forward)
    for task in METRICS:
        dev = splits.intent_dev if task == "intent" else splits.sentiment_dev
        rows = _task_rows(bundle, task, splits, forward)
        print(f"\n{render(task, len(dev), rows)}", flush=True)


def _task_rows(
    bundle: ModelBundle, task: str, splits: Splits, forward: SentenceEncoder | Int8Encoder
) -> list[AblationRow]:
    from services.classify.exemplars import ExemplarIndex
    from services.classify.ngrams import NgramModel
    from training.classify.ngrams import NgramTrainingConfig

    pipeline = bundle.intent if task == "intent" else bundle.sentiment
    train, dev = (
        (splits.intent_train, splits.intent_dev)
        if task == "intent"
        else (splits.sentiment_train, splits.sentiment_dev)
    )
    labels = pipeline.labels
    gold = np.array([labels.index(x) for x in dev.labels], dtype=np.int64)
    dev_vectors = forward.encode(dev.texts, batch_size=32)
    others: list[tuple[str, float, npt.NDArray[np.float32]]] = []
    for part in pipeline.components:
        if isinstance(part.component, ExemplarIndex):
            votes = _train_only_votes(part.component, train, labels, forward, dev_vectors)
            others.append(("exemplar votes", part.share, votes))
        elif isinstance(part.component, NgramModel):
            recorded = bundle.metrics.get("sentiment_ngrams", {}).get("training", {})
            config = NgramTrainingConfig(**recorded)
            ngrams = out_of_fold_ngrams(part.component, config, splits, labels)
            others.append(("n-grams", part.share, ngrams))
    head = pipeline.head
    return ablate(head.logits(dev_vectors), head.temperature, others, gold, METRICS[task])


def _train_only_votes(
    shipped: ExemplarIndex,
    train: LabeledTexts,
    labels: Sequence[str],
    forward: SentenceEncoder | Int8Encoder,
    dev_vectors: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """The shipped vote settings over the training split's vectors only, as when chosen."""
    from services.classify.exemplars import ExemplarIndex

    index = ExemplarIndex(
        forward.encode(train.texts, batch_size=32),
        np.array([labels.index(x) for x in train.labels], dtype=np.int64),
        len(labels),
        shipped.k,
        shipped.temperature,
        shipped.balanced,
    )
    return index.votes(dev_vectors)


def out_of_fold_ngrams(
    shipped: NgramModel, config: NgramTrainingConfig, splits: Splits, labels: Sequence[str]
) -> npt.NDArray[np.float32]:
    """Each dev tweet scored by an n-gram model fitted without it (2 folds, in the order and
    with the training settings of `add_ngrams`), at the shipped temperature."""
    from training.classify.ngrams import count_rows, out_of_fold_logits

    parts = [splits.sentiment_train, splits.sentiment_dev, splits.sentiment_unseen]
    texts = [text for part in parts for text in part.texts]
    label_ids = np.array([labels.index(x) for part in parts for x in part.labels], np.int64)
    first = len(splits.sentiment_train)
    dev_rows = np.arange(first, first + len(splits.sentiment_dev))
    featurizer = shipped.featurizer
    logits = out_of_fold_logits(
        featurizer,
        count_rows(featurizer, texts),
        label_ids,
        len(labels),
        dev_rows,
        config,
    )
    return softmax(logits / np.float32(shipped.temperature))


if __name__ == "__main__":
    main()
