"""Multi-task LoRA fine-tuning: one encoder pass, two softmax heads, adapters shared by both.

The encoder's dense layers get low-rank adapters (`textencoder.lora.LoraTraining`), its
biases and LayerNorms are trainable (BitFit-style), and both heads sit on the mean-pooled unit
vector exactly as they do when serving. Batches of the two tasks are interleaved at random;
each is padded only to its length bucket, and each task's step is one `tf.function` with a
fixed input signature, so nothing retraces. Model selection uses dev splits carved out
of the training data; the best checkpoint is restored at the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import tensorflow as tf
import tf_keras

from textencoder import EncoderAdapters, SentenceEncoder
from textencoder.lora import LoraTraining
from training.classify.evaluation import per_class_scores
from training.classify.fit import FineTuneConfig

log = logging.getLogger(__name__)

_IDS = tf.TensorSpec(shape=[None, None], dtype=tf.int32)
_LABELS = tf.TensorSpec(shape=[None], dtype=tf.int32)
_WEIGHTS = tf.TensorSpec(shape=[None], dtype=tf.float32)


@dataclass(frozen=True)
class TaskData:
    """Token ids and class indices of one task's split."""

    token_ids: list[list[int]]
    labels: npt.NDArray[np.int64]
    n_classes: int

    def __len__(self) -> int:
        return len(self.token_ids)


@dataclass(frozen=True)
class FineTuneResult:
    adapters: EncoderAdapters
    heads: dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]]
    steps: int
    best_step: int
    history: list[dict[str, float]] = field(default_factory=list)


class WarmupLinearDecay(tf_keras.optimizers.schedules.LearningRateSchedule):  # type: ignore[misc]
    def __init__(self, peak: float, warmup_steps: int, total_steps: int) -> None:
        self.peak = peak
        self.warmup_steps = max(1, warmup_steps)
        self.total_steps = max(self.warmup_steps + 1, total_steps)

    def __call__(self, step: Any) -> Any:
        step = tf.cast(step, tf.float32)
        warm = step / self.warmup_steps
        decay = (self.total_steps - step) / (self.total_steps - self.warmup_steps)
        return self.peak * tf.maximum(0.0, tf.minimum(warm, decay))

    def get_config(self) -> dict[str, Any]:
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
        }


def length_bucketed_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator, pool_batches: int = 50
) -> list[npt.NDArray[np.int64]]:
    """One epoch of row batches: shuffled, sorted by length within pools, batches shuffled."""
    order = rng.permutation(len(lengths))
    pool = batch_size * pool_batches
    batches: list[npt.NDArray[np.int64]] = []
    for start in range(0, len(order), pool):
        rows = order[start : start + pool]
        rows = rows[np.argsort([lengths[r] for r in rows], kind="stable")]
        batches.extend(rows[i : i + batch_size] for i in range(0, len(rows), batch_size))
    rng.shuffle(batches)
    return batches


def task_batches(
    n_rows: int, lengths: Sequence[int], epochs: float, batch_size: int, rng: np.random.Generator
) -> list[npt.NDArray[np.int64]]:
    """`epochs` (may be fractional) passes over a task as length-bucketed batches."""
    wanted = max(1, round(epochs * -(-n_rows // batch_size)))
    batches: list[npt.NDArray[np.int64]] = []
    while len(batches) < wanted:
        batches.extend(length_bucketed_batches(lengths, batch_size, rng))
    return batches[:wanted]


def class_weights(labels: npt.NDArray[np.int64], n_classes: int) -> npt.NDArray[np.float32]:
    """Inverse-frequency weights with mean 1 over the samples (for macro recall)."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    return np.asarray(len(labels) / (n_classes * np.maximum(counts, 1.0)), dtype=np.float32)


def fine_tune(
    encoder: SentenceEncoder,
    train: dict[str, TaskData],
    dev: dict[str, TaskData],
    config: FineTuneConfig,
    *,
    balanced: Sequence[str] = ("sentiment",),
) -> FineTuneResult:
    """Train adapters + one head per task in `train` on a training copy of the encoder.

    `encoder` is rewired in place (LoRA layers) and must not serve afterwards; the returned
    adapters merged into a fresh `SentenceEncoder` reproduce the trained model.
    """
    tf_keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(config.seed)
    lora = LoraTraining(
        encoder.keras_model,
        rank=config.rank,
        alpha=config.alpha,
        targets=config.targets,
        train_vectors=config.train_vectors,
        seed=config.seed,
    )
    heads = {
        name: (
            tf.Variable(tf.zeros((encoder.dim, data.n_classes)), name=f"{name}_kernel"),
            tf.Variable(tf.zeros((data.n_classes,)), name=f"{name}_bias"),
        )
        for name, data in train.items()
    }
    weights = {
        name: class_weights(data.labels, data.n_classes)
        if name in balanced
        else np.ones(data.n_classes, dtype=np.float32)
        for name, data in train.items()
    }

    schedule: list[tuple[str, npt.NDArray[np.int64]]] = []
    for name, data in train.items():
        epochs = config.intent_epochs if name == "intent" else config.sentiment_epochs
        lengths = [len(x) for x in data.token_ids]
        batches = task_batches(len(data), lengths, epochs, config.batch_size, rng)
        schedule.extend((name, b) for b in batches)
    order = rng.permutation(len(schedule))
    schedule = [schedule[i] for i in order]
    total = len(schedule)
    warmup = round(config.warmup_fraction * total)

    adapter_optimizer = tf_keras.optimizers.AdamW(
        learning_rate=WarmupLinearDecay(config.adapter_learning_rate, warmup, total),
        weight_decay=config.weight_decay,
    )
    adapter_optimizer.exclude_from_weight_decay(var_list=list(lora.vectors.values()))
    head_optimizer = tf_keras.optimizers.Adam(
        learning_rate=WarmupLinearDecay(config.head_learning_rate, warmup, total)
    )
    adapter_vars = lora.trainable_variables
    head_vars = [v for pair in heads.values() for v in pair]
    adapter_optimizer.build(adapter_vars)
    head_optimizer.build(head_vars)

    def make_step(name: str) -> Any:
        kernel, bias = heads[name]

        def step(ids: Any, mask: Any, labels: Any, sample_weights: Any) -> Any:
            with tf.GradientTape() as tape:
                pooled = encoder.pooled(ids, mask, training=config.encoder_dropout)
                logits = tf.matmul(pooled, kernel) + bias
                losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
                loss = tf.reduce_mean(losses * sample_weights)
            grads = tape.gradient(loss, [*adapter_vars, kernel, bias])
            adapter_optimizer.apply_gradients(
                zip(grads[: len(adapter_vars)], adapter_vars, strict=True)
            )
            head_optimizer.apply_gradients(
                zip(grads[len(adapter_vars) :], [kernel, bias], strict=True)
            )
            return loss

        return tf.function(step, input_signature=[_IDS, _IDS, _LABELS, _WEIGHTS])

    steps = {name: make_step(name) for name in train}
    every = max(1, total // max(1, config.evaluations))
    log.info(
        "fine-tuning: %d steps (%s), rank %d, %d adapter tensors, evaluating every %d steps",
        total,
        ", ".join(f"{n}: {sum(1 for t, _ in schedule if t == n)}" for n in train),
        config.rank,
        len(adapter_vars),
        every,
    )
    history: list[dict[str, float]] = []
    best: tuple[float, int, list[npt.NDArray[np.float32]]] | None = None
    started = time.monotonic()
    interval_started, texts_done = started, 0
    running_loss = {name: 0.0 for name in train}
    for i, (name, rows) in enumerate(schedule, start=1):
        data = train[name]
        batch = encoder.pad([data.token_ids[r] for r in rows])
        labels = data.labels[rows].astype(np.int32)
        loss = steps[name](
            tf.constant(batch.input_ids),
            tf.constant(batch.attention_mask),
            tf.constant(labels),
            tf.constant(weights[name][labels]),
        )
        running_loss[name] = 0.95 * running_loss[name] + 0.05 * float(loss)
        texts_done += len(rows)
        if i % 50 == 0:
            now = time.monotonic()
            log.info(
                "step %d/%d  %.0f texts/s  loss %s  %.0f s",
                i,
                total,
                texts_done / (now - interval_started),
                {n: round(v, 3) for n, v in running_loss.items()},
                now - started,
            )
            interval_started, texts_done = now, 0
        if i % every == 0 or i == total:
            scores = dev_scores(encoder, heads, dev)
            selection = float(np.mean(list(scores.values())))
            history.append({"step": float(i), **scores})
            log.info("step %d dev %s (selection score %.4f)", i, scores, selection)
            if best is None or selection > best[0]:
                snapshot = lora.snapshot() + [np.asarray(v.numpy()) for v in head_vars]
                best = (selection, i, snapshot)
    assert best is not None  # total >= 1, so the last step always evaluates
    n_adapter = len(adapter_vars)
    lora.restore(best[2][:n_adapter])
    for variable, value in zip(head_vars, best[2][n_adapter:], strict=True):
        variable.assign(value)
    log.info("restored step %d (selection score %.4f)", best[1], best[0])
    return FineTuneResult(
        adapters=lora.export(),
        heads={
            name: (
                np.asarray(k.numpy(), dtype=np.float32),
                np.asarray(b.numpy(), dtype=np.float32),
            )
            for name, (k, b) in heads.items()
        },
        steps=total,
        best_step=best[1],
        history=history,
    )


def dev_scores(
    encoder: SentenceEncoder, heads: dict[str, tuple[Any, Any]], dev: dict[str, TaskData]
) -> dict[str, float]:
    """Intent accuracy and sentiment macro recall of the model as it is now (no dropout)."""
    scores: dict[str, float] = {}
    for name, data in dev.items():
        pooled = embed_ids(encoder, data.token_ids)
        kernel, bias = heads[name]
        predicted = (pooled @ kernel.numpy() + bias.numpy()).argmax(axis=1)
        if name == "intent":
            scores["intent_accuracy"] = round(float((predicted == data.labels).mean()), 4)
        else:
            _, recall, _, _ = per_class_scores(data.labels, predicted, data.n_classes)
            scores[f"{name}_macro_recall"] = round(float(recall.mean()), 4)
    return scores


def embed_ids(
    encoder: SentenceEncoder, token_ids: Sequence[Sequence[int]], batch_size: int = 64
) -> npt.NDArray[np.float32]:
    """Pooled vectors of pre-tokenised texts, in order (length-sorted batches)."""
    out = np.empty((len(token_ids), encoder.dim), dtype=np.float32)
    order = np.argsort([len(x) for x in token_ids], kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        out[rows] = encoder.embed_batch(encoder.pad([token_ids[i] for i in rows]))
    return out
