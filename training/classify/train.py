"""End-to-end training run: data -> encoder -> two heads -> calibration -> bundle.

Names of the splits: "dev" is carved out of each task's training data and makes every choice
(checkpoint, early stopping, temperatures, and downstream the exemplar votes and the n-gram
blend); "held-out" is the 10% of Banking77 `train.csv` no step sees; "validation" is only
TweetEval's official validation split, scored once as a report.

Two methods share the data splits, calibration, scoring and export:
- frozen (v1): embed every text once with the frozen encoder, train each head on the vectors;
- fine-tuned (v2, `TrainingConfig.finetune`): LoRA adapters + biases/LayerNorms of the encoder
  trained jointly with both heads (`finetune.py`); the adapters ship in the bundle.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from services.classify.bundle import SENTIMENT_LABELS, save_bundle
from services.classify.head import SoftmaxHead
from services.classify.pipeline import TaskPipeline
from textencoder import SentenceEncoder
from training.classify.datasets import (
    LabeledTexts,
    read_banking77_csv,
    read_tweeteval_pair,
)
from training.classify.embedding_cache import cached_encode
from training.classify.evaluation import EvaluationReport, evaluate
from training.classify.finetune import TaskData, fine_tune
from training.classify.fit import (
    FineTuneConfig,
    HeadTrainingConfig,
    fit_temperature,
    stratified_split,
    stratified_subset,
    train_softmax_head,
)
from training.classify.model_card import render_model_card
from training.classify.split_files import DevFiles, write_dev_files, write_heldout_csv

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingConfig:
    data_dir: Path
    output_dir: Path
    version: str
    cache_dir: Path
    command: str  # recorded in the model card
    sentiment_train_size: int = 0  # 0: all of TweetEval train
    dev_fraction: float = 0.1
    intent_eval_fraction: float = 0.1
    seed: int = 0
    max_length: int = 128
    embed_batch_size: int = 64
    # Banking77 accuracy keeps rising after the dev loss turns: stop on accuracy.
    intent_head: HeadTrainingConfig = field(
        default_factory=lambda: HeadTrainingConfig(
            weight_decay=1e-6, monitor="val_accuracy", patience=15
        )
    )
    sentiment_head: HeadTrainingConfig = field(
        default_factory=lambda: HeadTrainingConfig(class_balanced=True)
    )
    finetune: FineTuneConfig | None = None  # None: frozen encoder, heads only (v1)


@dataclass(frozen=True)
class HeadResult:
    head: SoftmaxHead
    epochs: float
    train_size: int
    dev_size: int
    dev: EvaluationReport
    evaluation: EvaluationReport


@dataclass(frozen=True)
class Splits:
    """Every split of both tasks; identical for both methods and seeds."""

    intent_labels: tuple[str, ...]
    intent_train: LabeledTexts
    intent_dev: LabeledTexts
    intent_eval: LabeledTexts
    sentiment_train: LabeledTexts
    sentiment_dev: LabeledTexts
    sentiment_eval: LabeledTexts
    # Training tweets outside the subset used to fit (empty when all are used): never seen by
    # the encoder, heads or exemplars, so they can choose what is stacked on top of them.
    sentiment_unseen: LabeledTexts
    heldout_csv: Path
    dev_files: DevFiles


def load_splits(config: TrainingConfig) -> Splits:
    banking = read_banking77_csv(config.data_dir / "banking77" / "train.csv")
    rest, intent_eval_rows = stratified_split(
        banking.labels, config.intent_eval_fraction, config.seed
    )
    intent_eval = banking.subset(intent_eval_rows)
    heldout_csv = write_heldout_csv(
        intent_eval, config.cache_dir / "eval" / "banking77_heldout.csv"
    )
    rest_data = banking.subset(rest)
    # Same dev share of the whole set as the eval split: 10% eval, 10% dev, 80% train.
    dev_share = config.dev_fraction / (1.0 - config.intent_eval_fraction)
    intent_train_rows, intent_dev_rows = stratified_split(rest_data.labels, dev_share, config.seed)
    tweets_dir = config.data_dir / "tweeteval_sentiment"
    tweets = read_tweeteval_pair(tweets_dir / "train_text.txt", tweets_dir / "train_labels.txt")
    tweets_eval = read_tweeteval_pair(tweets_dir / "val_text.txt", tweets_dir / "val_labels.txt")
    unseen = tweets.subset([])
    if config.sentiment_train_size:
        used = stratified_subset(tweets.labels, config.sentiment_train_size, config.seed)
        unseen = tweets.subset(np.setdiff1d(np.arange(len(tweets)), used))
        tweets = tweets.subset(used)
    tweet_train_rows, tweet_dev_rows = stratified_split(
        tweets.labels, config.dev_fraction, config.seed
    )
    intent_dev = rest_data.subset(intent_dev_rows)
    sentiment_dev = tweets.subset(tweet_dev_rows)
    return Splits(
        intent_labels=tuple(sorted(set(banking.labels))),
        intent_train=rest_data.subset(intent_train_rows),
        intent_dev=intent_dev,
        intent_eval=intent_eval,
        sentiment_train=tweets.subset(tweet_train_rows),
        sentiment_dev=sentiment_dev,
        sentiment_eval=tweets_eval,
        sentiment_unseen=unseen,
        heldout_csv=heldout_csv,
        dev_files=write_dev_files(intent_dev, sentiment_dev, config.cache_dir / "eval"),
    )


def run_training(config: TrainingConfig) -> Path:
    if config.finetune is not None:
        return run_fine_tuning(config, config.finetune)
    started = time.monotonic()
    splits = load_splits(config)
    encoder = SentenceEncoder(max_length=config.max_length)
    embedding_s = 0.0

    def embed(data: LabeledTexts, name: str) -> tuple[npt.NDArray[np.float32], Sequence[str]]:
        nonlocal embedding_s
        embed_started = time.monotonic()
        vectors = cached_encode(
            encoder, data.texts, config.cache_dir, name=name, batch_size=config.embed_batch_size
        )
        embedding_s += time.monotonic() - embed_started
        return vectors, data.labels

    intent = fit_head(
        splits.intent_labels,
        embed(splits.intent_train, "banking77-train"),
        embed(splits.intent_dev, "banking77-dev"),
        embed(splits.intent_eval, "banking77-heldout"),
        config.intent_head,
    )
    log.info("intent: %s", intent.evaluation.to_json() | {"per_class": "..."})
    sentiment = fit_head(
        SENTIMENT_LABELS,
        embed(splits.sentiment_train, "tweeteval-train"),
        embed(splits.sentiment_dev, "tweeteval-dev"),
        embed(splits.sentiment_eval, "tweeteval-val"),
        config.sentiment_head,
    )
    log.info("sentiment: %s", sentiment.evaluation.to_json() | {"per_class": "..."})

    wall_s = time.monotonic() - started
    metrics = {
        "intent": _metrics_entry(intent, "banking77 train.csv, stratified 10% held out"),
        "sentiment": _metrics_entry(sentiment, "tweeteval sentiment official validation split"),
        "training": {
            "wall_time_s": round(wall_s, 1),
            "embedding_s": round(embedding_s, 1),  # ~0 when the embeddings were cached
            "machine": f"{platform.machine()}, {platform.python_implementation()} "
            f"{platform.python_version()}",
            "config": _jsonable(asdict(config)),
        },
    }
    card = render_model_card(
        version=config.version,
        encoder_name=encoder.name,
        encoder_sha256=encoder.weights_sha256,
        command=config.command,
        metrics=metrics,
        sentiment_train_size=sentiment.train_size + sentiment.dev_size,
        heldout_csv=splits.heldout_csv,
        dev_files=splits.dev_files,
        head_configs={"intent": config.intent_head, "sentiment": config.sentiment_head},
    )
    out = save_bundle(
        config.output_dir,
        version=config.version,
        encoder_name=encoder.name,
        encoder_sha256=encoder.weights_sha256,
        sentiment=TaskPipeline.head_only(sentiment.head),
        intent=TaskPipeline.head_only(intent.head),
        metrics=metrics,
        model_card=card,
    )
    log.info("bundle written to %s in %.0f s", out, wall_s)
    return out


def run_fine_tuning(config: TrainingConfig, finetune: FineTuneConfig) -> Path:
    """LoRA + heads jointly; calibrate and score with the adapters merged into a fresh encoder."""
    started = time.monotonic()
    splits = load_splits(config)
    training_encoder = SentenceEncoder(max_length=config.max_length)
    labels = {"intent": splits.intent_labels, "sentiment": SENTIMENT_LABELS}

    def task(name: str, data: LabeledTexts) -> TaskData:
        index = {label: i for i, label in enumerate(labels[name])}
        return TaskData(
            token_ids=training_encoder.token_ids(data.texts),
            labels=np.array([index[x] for x in data.labels], dtype=np.int64),
            n_classes=len(labels[name]),
        )

    result = fine_tune(
        training_encoder,
        {
            "intent": task("intent", splits.intent_train),
            "sentiment": task("sentiment", splits.sentiment_train),
        },
        {
            "intent": task("intent", splits.intent_dev),
            "sentiment": task("sentiment", splits.sentiment_dev),
        },
        finetune,
    )
    training_s = time.monotonic() - started

    encoder = SentenceEncoder(max_length=config.max_length)
    encoder.merge_adapters(result.adapters)

    def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return encoder.encode(texts, batch_size=config.embed_batch_size)

    heads: dict[str, HeadResult] = {}
    for name, train_split, dev_split, eval_split in (
        ("intent", splits.intent_train, splits.intent_dev, splits.intent_eval),
        ("sentiment", splits.sentiment_train, splits.sentiment_dev, splits.sentiment_eval),
    ):
        kernel, bias = result.heads[name]
        heads[name] = calibrate_and_score(
            SoftmaxHead(labels[name], kernel, bias),
            (embed(dev_split.texts), dev_split.labels),
            (embed(eval_split.texts), eval_split.labels),
            epochs=finetune.intent_epochs if name == "intent" else finetune.sentiment_epochs,
            train_size=len(train_split),
        )
        log.info("%s: %s", name, heads[name].evaluation.to_json() | {"per_class": "..."})

    wall_s = time.monotonic() - started
    metrics = {
        "intent": _metrics_entry(heads["intent"], "banking77 train.csv, stratified 10% held out"),
        "sentiment": _metrics_entry(
            heads["sentiment"], "tweeteval sentiment official validation split"
        ),
        "training": {
            "method": "lora",
            "wall_time_s": round(wall_s, 1),
            "fine_tuning_s": round(training_s, 1),
            "steps": result.steps,
            "best_step": result.best_step,
            "dev_history": result.history,
            "machine": f"{platform.machine()}, {platform.python_implementation()} "
            f"{platform.python_version()}",
            "config": _jsonable(asdict(config)),
        },
    }
    card = render_model_card(
        version=config.version,
        encoder_name=encoder.name,
        encoder_sha256=encoder.weights_sha256,
        command=config.command,
        metrics=metrics,
        sentiment_train_size=len(splits.sentiment_train) + len(splits.sentiment_dev),
        heldout_csv=splits.heldout_csv,
        dev_files=splits.dev_files,
        head_configs={"intent": config.intent_head, "sentiment": config.sentiment_head},
        finetune=finetune,
    )
    out = save_bundle(
        config.output_dir,
        version=config.version,
        encoder_name=encoder.name,
        encoder_sha256=encoder.weights_sha256,
        sentiment=TaskPipeline.head_only(heads["sentiment"].head),
        intent=TaskPipeline.head_only(heads["intent"].head),
        metrics=metrics,
        model_card=card,
        adapters=result.adapters,
    )
    log.info("bundle written to %s in %.0f s", out, wall_s)
    return out


def calibrate_and_score(
    raw: SoftmaxHead,
    dev: tuple[npt.NDArray[np.float32], Sequence[str]],
    held_out: tuple[npt.NDArray[np.float32], Sequence[str]],
    *,
    epochs: float,
    train_size: int,
) -> HeadResult:
    """Fit the temperature on the dev split, then score dev and held-out data."""
    index = {label: i for i, label in enumerate(raw.labels)}
    dev_ids = np.array([index[x] for x in dev[1]], dtype=np.int64)
    temperature = fit_temperature(raw.logits(dev[0]), dev_ids)
    head = SoftmaxHead(raw.labels, raw.kernel, raw.bias, temperature)
    return HeadResult(
        head=head,
        epochs=epochs,
        train_size=train_size,
        dev_size=len(dev[1]),
        dev=score(head, *dev),
        evaluation=score(head, *held_out),
    )


def fit_head(
    labels: Sequence[str],
    train: tuple[npt.NDArray[np.float32], Sequence[str]],
    dev: tuple[npt.NDArray[np.float32], Sequence[str]],
    held_out: tuple[npt.NDArray[np.float32], Sequence[str]],
    head_config: HeadTrainingConfig,
) -> HeadResult:
    index = {label: i for i, label in enumerate(labels)}

    def ids(names: Sequence[str]) -> npt.NDArray[np.int64]:
        return np.array([index[n] for n in names], dtype=np.int64)

    kernel, bias, epochs = train_softmax_head(
        train[0], ids(train[1]), dev[0], ids(dev[1]), len(labels), head_config
    )
    raw = SoftmaxHead(tuple(labels), kernel, bias)
    temperature = fit_temperature(raw.logits(dev[0]), ids(dev[1]))
    head = SoftmaxHead(tuple(labels), kernel, bias, temperature)
    return HeadResult(
        head=head,
        epochs=epochs,
        train_size=len(train[1]),
        dev_size=len(dev[1]),
        dev=score(head, *dev),
        evaluation=score(head, *held_out),
    )


def score(head: SoftmaxHead, x: npt.NDArray[np.float32], gold: Sequence[str]) -> EvaluationReport:
    return score_distribution(head.probabilities(x), gold, head.labels)


def score_pipeline(
    pipeline: TaskPipeline,
    x: npt.NDArray[np.float32],
    texts: Sequence[str],
    gold: Sequence[str],
) -> EvaluationReport:
    """Score a task's served distribution, as the engine computes it."""
    return score_distribution(pipeline.probabilities(x, texts), gold, pipeline.labels)


def score_distribution(
    probabilities: npt.NDArray[np.float32], gold: Sequence[str], labels: Sequence[str]
) -> EvaluationReport:
    """Score served distributions: the argmax is the prediction, its probability the confidence."""
    best = probabilities.argmax(axis=1)
    return evaluate(gold, [labels[i] for i in best], probabilities.max(axis=1).tolist(), labels)


def _metrics_entry(result: HeadResult, evaluated_on: str) -> dict[str, Any]:
    return {
        "evaluated_on": evaluated_on,
        "train_size": result.train_size,
        "dev_size": result.dev_size,
        "epochs": result.epochs,
        "temperature": round(result.head.temperature, 4),
        "dev": {k: v for k, v in result.dev.to_json().items() if k != "per_class"},
        "evaluation": result.evaluation.to_json(),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _jsonable(v)
            for k, v in value.items()
            if k not in {"data_dir", "cache_dir", "output_dir", "command"}
        }
    if isinstance(value, Path):
        return str(value)
    return value
