"""Training pieces: stratified splits, a softmax head on frozen embeddings, temperature scaling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class HeadTrainingConfig:
    weight_decay: float = 1e-4  # L2 coefficient on the kernel
    learning_rate: float = 3e-3
    batch_size: int = 128
    max_epochs: int = 200
    patience: int = 8  # epochs without dev-loss improvement before stopping
    class_balanced: bool = False  # weight classes by inverse frequency (for macro recall)
    # Early-stopping metric on the dev split (Keras names it "val_"); "val_accuracy" stops later.
    monitor: str = "val_loss"
    seed: int = 0


@dataclass(frozen=True)
class FineTuneConfig:
    """LoRA fine-tuning of the encoder jointly with both heads (see `finetune.py`)."""

    rank: int = 8
    alpha: float = 16.0  # adapter scale = alpha / rank
    # Dense layers with adapters, by PyTorch module name suffix: q, k, v, attention output, FFN.
    targets: tuple[str, ...] = (
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
        "intermediate.dense",
        "output.dense",
    )
    train_vectors: bool = True  # biases and LayerNorms too (BitFit-style)
    adapter_learning_rate: float = 1e-3
    # Heads start at zero on unit-length inputs: they need large weights, so a high rate.
    head_learning_rate: float = 2e-2
    weight_decay: float = 0.01  # AdamW, on the LoRA matrices only
    warmup_fraction: float = 0.06  # linear warm-up, then linear decay to 0
    batch_size: int = 32
    intent_epochs: float = 2.0
    sentiment_epochs: float = 1.0
    encoder_dropout: bool = True  # BERT's own dropout (0.1) during training
    evaluations: int = 2  # dev checkpoints over the run (model selection)
    seed: int = 0


def stratified_split(
    labels: Sequence[str], fraction: float, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row indices (kept, held_out): `fraction` of every class held out, at least one each."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    kept: list[int] = []
    held: list[int] = []
    for label in sorted(by_label):
        rows = rng.permutation(by_label[label])
        n_held = max(1, round(len(rows) * fraction))
        held.extend(int(r) for r in rows[:n_held])
        kept.extend(int(r) for r in rows[n_held:])
    return np.sort(np.array(kept, dtype=np.int64)), np.sort(np.array(held, dtype=np.int64))


def stratified_subset(labels: Sequence[str], size: int, seed: int) -> npt.NDArray[np.int64]:
    """`size` row indices keeping the class proportions."""
    if size >= len(labels):
        return np.arange(len(labels), dtype=np.int64)
    _, chosen = stratified_split(labels, size / len(labels), seed)
    return chosen


def train_softmax_head(
    x_train: npt.NDArray[np.float32],
    y_train: npt.NDArray[np.int64],
    x_dev: npt.NDArray[np.float32],
    y_dev: npt.NDArray[np.int64],
    n_classes: int,
    config: HeadTrainingConfig,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], int]:
    """Fit logits = x @ kernel + bias with Adam + L2; early stopping on the dev split.

    Returns (kernel, bias, epochs_run). Deterministic for a given seed on CPU.
    """
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    model = tf_keras.Sequential(
        [
            tf_keras.layers.Input(shape=(x_train.shape[1],)),
            tf_keras.layers.Dense(
                n_classes, kernel_regularizer=tf_keras.regularizers.L2(config.weight_decay)
            ),
        ]
    )
    model.compile(
        optimizer=tf_keras.optimizers.Adam(config.learning_rate),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    class_weight = None
    if config.class_balanced:
        counts = np.bincount(y_train, minlength=n_classes).astype(np.float64)
        weights = len(y_train) / (n_classes * np.maximum(counts, 1.0))
        class_weight = {i: float(w) for i, w in enumerate(weights)}
    stop = tf_keras.callbacks.EarlyStopping(
        monitor=config.monitor,
        mode="min" if config.monitor.endswith("loss") else "max",
        patience=config.patience,
        restore_best_weights=True,
    )
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_dev, y_dev),
        epochs=config.max_epochs,
        batch_size=config.batch_size,
        class_weight=class_weight,
        callbacks=[stop],
        shuffle=True,
        verbose=0,
    )
    kernel, bias = model.layers[-1].get_weights()
    return (
        np.asarray(kernel, dtype=np.float32),
        np.asarray(bias, dtype=np.float32),
        len(history.history["loss"]),
    )


def fit_temperature(logits: npt.NDArray[np.float32], labels: npt.NDArray[np.int64]) -> float:
    """Temperature T > 0 minimising the NLL of softmax(logits / T) (golden-section on log T)."""

    def nll(temperature: float) -> float:
        scaled = logits.astype(np.float64) / temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(scaled).sum(axis=1))
        return float((log_z - scaled[np.arange(len(labels)), labels]).mean())

    return minimising_temperature(nll)


def minimising_temperature(loss: Callable[[float], float]) -> float:
    """The T in [0.05, 20] minimising `loss(T)`, by golden-section search on log T (the loss
    must have one minimum there, as a log loss does in a softmax temperature)."""
    lo, hi = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(float(np.exp(a))), loss(float(np.exp(b)))
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = loss(float(np.exp(a)))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(float(np.exp(b)))
    return float(np.exp((lo + hi) / 2.0))
