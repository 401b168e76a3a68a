"""Fit an `NgramModel` in TensorFlow: hashed n-gram counts, idf from the training texts, and a
multinomial logistic regression with L2 (class-balanced, since sentiment is scored by macro
recall), trained with Adam on sparse mini-batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from services.classify.ngrams import CountRows, NgramFeaturizer, NgramModel


@dataclass(frozen=True)
class NgramTrainingConfig:
    bits: int = 18
    # The L2 penalty is ||W||^2 / (2 * c * n): scikit-learn's C for a summed loss, as a mean.
    c: float = 1.0
    epochs: int = 6
    batch_size: int = 256
    learning_rate: float = 0.01
    class_balanced: bool = True
    seed: int = 0


def count_rows(featurizer: NgramFeaturizer, texts: Sequence[str], chunk: int = 4096) -> CountRows:
    """`featurizer.count_rows` a chunk at a time, which bounds the memory of the hashing."""
    parts = [featurizer.count_rows(texts[i : i + chunk]) for i in range(0, len(texts), chunk)]
    if not parts:
        return featurizer.count_rows([])
    offsets = np.cumsum([0] + [len(p.ids) for p in parts[:-1]])
    return CountRows(
        indptr=np.concatenate(
            [[0]] + [p.indptr[1:] + offset for p, offset in zip(parts, offsets, strict=True)]
        ).astype(np.int64),
        ids=np.concatenate([p.ids for p in parts]),
        counts=np.concatenate([p.counts for p in parts]),
    )


def fit_idf(rows: CountRows, size: int) -> npt.NDArray[np.float32]:
    """Smoothed idf, ln((1 + n) / (1 + df)) + 1, as if one extra text held every n-gram."""
    df = np.bincount(rows.ids, minlength=size).astype(np.float64)
    return np.asarray(np.log((1.0 + len(rows)) / (1.0 + df)) + 1.0, dtype=np.float32)


def fit_linear(
    rows: CountRows,
    values: npt.NDArray[np.float32],
    label_ids: npt.NDArray[np.int64],
    n_labels: int,
    size: int,
    config: NgramTrainingConfig,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """(weights, bias) of softmax regression on the sparse rows. Deterministic per seed."""
    import tensorflow as tf
    import tf_keras

    tf.random.set_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    n = len(rows)
    counts = np.bincount(label_ids, minlength=n_labels).astype(np.float64)
    class_weights = (
        n / (n_labels * np.maximum(counts, 1.0)) if config.class_balanced else np.ones(n_labels)
    )
    weights = tf.Variable(tf.zeros((size, n_labels)))
    bias = tf.Variable(tf.zeros((n_labels,)))
    steps = config.epochs * -(-n // config.batch_size)
    # Decaying to zero lets the mini-batch noise settle near the regularised optimum.
    schedule = tf_keras.optimizers.schedules.PolynomialDecay(config.learning_rate, steps, 0.0)
    optimizer = tf_keras.optimizers.Adam(schedule)
    l2 = 1.0 / (2.0 * config.c * n)
    table = tf.constant(class_weights, dtype=tf.float32)

    def step(indices: Any, batch_values: Any, labels: Any) -> Any:
        batch = tf.SparseTensor(indices, batch_values, [tf.shape(labels, tf.int64)[0], size])
        with tf.GradientTape() as tape:
            logits = tf.sparse.sparse_dense_matmul(batch, weights) + bias
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
            loss = tf.reduce_mean(losses * tf.gather(table, labels))
            loss += l2 * tf.reduce_sum(tf.square(weights))
        grads = tape.gradient(loss, [weights, bias])
        optimizer.apply_gradients(zip(grads, [weights, bias], strict=True))
        return loss

    signature = [
        tf.TensorSpec([None, 2], tf.int64),
        tf.TensorSpec([None], tf.float32),
        tf.TensorSpec([None], tf.int64),
    ]
    step_fn = tf.function(step, input_signature=signature)  # one trace for every batch
    order_rng = np.random.default_rng(config.seed)
    for _ in range(config.epochs):
        order = order_rng.permutation(n)
        for start in range(0, n, config.batch_size):
            picked = np.sort(order[start : start + config.batch_size])
            indices, batch_values = _sparse_batch(rows, values, picked)
            step_fn(indices, batch_values, label_ids[picked])
    return weights.numpy(), bias.numpy()


def _sparse_batch(
    rows: CountRows, values: npt.NDArray[np.float32], picked: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """[row in batch, bucket] indices in row-major order, and their values."""
    flat = rows.positions(picked)
    batch_rows = np.repeat(np.arange(len(picked)), np.diff(rows.indptr)[picked])
    return np.stack([batch_rows, rows.ids[flat]], axis=1), values[flat]


def fit_ngram_model(
    featurizer: NgramFeaturizer,
    rows: CountRows,
    label_ids: npt.NDArray[np.int64],
    n_labels: int,
    config: NgramTrainingConfig,
    *,
    temperature: float = 1.0,
) -> NgramModel:
    idf = fit_idf(rows, featurizer.size)
    values = featurizer.weighted(rows, idf)
    weights, bias = fit_linear(rows, values, label_ids, n_labels, featurizer.size, config)
    return NgramModel(featurizer, idf, weights, bias, temperature)


def out_of_fold_logits(
    featurizer: NgramFeaturizer,
    rows: CountRows,
    label_ids: npt.NDArray[np.int64],
    n_labels: int,
    selection: npt.NDArray[np.int64],
    config: NgramTrainingConfig,
    folds: int = 2,
) -> npt.NDArray[np.float32]:
    """Logits for the `selection` rows, each from a model fitted on every row outside its fold."""
    order = np.random.default_rng(config.seed).permutation(selection)
    logits = np.zeros((len(rows), n_labels), dtype=np.float32)
    for fold in np.array_split(order, folds):
        rest = np.setdiff1d(np.arange(len(rows)), fold)
        model = fit_ngram_model(featurizer, rows.take(rest), label_ids[rest], n_labels, config)
        logits[fold] = model.logits(rows.take(fold))
    return logits[selection]
