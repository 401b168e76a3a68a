"""Adapters on the TensorFlow model: merging `EncoderAdapters` into it, and training them.

`merge_into_model` adds the deltas into a `TFBertModel`'s weights once (W += scale * A @ B).
`LoraTraining` is the training-time counterpart: it wraps the dense layers of an encoder's
model so that their output is `x @ W + scale * (x @ A) @ B + b`, with trainable A, B and
optionally trainable biases and LayerNorms, and exports what was learned as `EncoderAdapters`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf
import tf_keras

from textencoder.adapters import AdapterError, EncoderAdapters, Float32Array

# The dense layers of one BERT block, by their PyTorch module names.
BLOCK_DENSES = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
BLOCK_LAYER_NORMS = ("attention.output.LayerNorm", "output.LayerNorm")


def named_denses(model: Any) -> dict[str, Any]:
    """PyTorch module name -> the `Dense` layer of a `TFBertModel` that holds its weights."""
    layers: dict[str, Any] = {}
    for i, block in enumerate(model.bert.encoder.layer):
        prefix = f"encoder.layer.{i}."
        self_attention = block.attention.self_attention
        layers[prefix + "attention.self.query"] = self_attention.query
        layers[prefix + "attention.self.key"] = self_attention.key
        layers[prefix + "attention.self.value"] = self_attention.value
        layers[prefix + "attention.output.dense"] = block.attention.dense_output.dense
        layers[prefix + "intermediate.dense"] = block.intermediate.dense
        layers[prefix + "output.dense"] = block.bert_output.dense
    return layers


def named_vectors(model: Any) -> dict[str, Any]:
    """PyTorch parameter name -> `tf.Variable` for every bias and LayerNorm vector."""
    variables: dict[str, Any] = {
        "embeddings.LayerNorm.weight": model.bert.embeddings.LayerNorm.gamma,
        "embeddings.LayerNorm.bias": model.bert.embeddings.LayerNorm.beta,
    }
    for name, dense in named_denses(model).items():
        variables[f"{name}.bias"] = _base_dense(dense).bias
    for i, block in enumerate(model.bert.encoder.layer):
        prefix = f"encoder.layer.{i}."
        for name, norm in (
            ("attention.output.LayerNorm", block.attention.dense_output.LayerNorm),
            ("output.LayerNorm", block.bert_output.LayerNorm),
        ):
            variables[f"{prefix}{name}.weight"] = norm.gamma
            variables[f"{prefix}{name}.bias"] = norm.beta
    return variables


def merge_into_model(model: Any, adapters: EncoderAdapters) -> None:
    """W += scale * A @ B for every low-rank pair, v += delta for every additive entry."""
    denses = named_denses(model)
    vectors = named_vectors(model)
    unknown = sorted(
        {n for n in adapters.low_rank if n not in denses}
        | {n for n in adapters.additive if n not in vectors}
    )
    if unknown:
        raise AdapterError(f"adapters name weights the encoder does not have: {unknown[:5]}")
    updates: list[tuple[Any, Float32Array]] = []
    for name in adapters.low_rank:
        kernel = _base_dense(denses[name]).kernel
        delta = adapters.kernel_delta(name)
        if delta.shape != tuple(kernel.shape):
            raise AdapterError(f"{name}: delta {delta.shape} but kernel {tuple(kernel.shape)}")
        updates.append((kernel, delta))
    for name, delta in adapters.additive.items():
        variable = vectors[name]
        if delta.shape != tuple(variable.shape):
            raise AdapterError(f"{name}: delta {delta.shape} but weight {tuple(variable.shape)}")
        updates.append((variable, delta))
    for variable, delta in updates:  # all checked first: never a half-merged encoder
        variable.assign(variable.numpy() + delta)


class LoraDense(tf_keras.layers.Layer):  # type: ignore[misc]
    """`base(x) + scale * (x @ A) @ B` with the base `Dense` frozen; A random, B zero at start."""

    def __init__(
        self, base: Any, rank: int, scale: float, seed: int, dropout: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(name=f"{base.name}_lora", **kwargs)
        self.base = base
        self.scale = scale
        self.dropout = dropout
        fan_in, fan_out = int(base.kernel.shape[0]), int(base.kernel.shape[1])
        init = tf_keras.initializers.HeUniform(seed=seed)  # as PEFT: kaiming-uniform A
        self.lora_a = tf.Variable(init((fan_in, rank)), name="lora_a", trainable=True)
        self.lora_b = tf.Variable(tf.zeros((rank, fan_out)), name="lora_b", trainable=True)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        low = inputs
        if training and self.dropout > 0:
            low = tf.nn.dropout(low, rate=self.dropout)
        update = tf.tensordot(tf.tensordot(low, self.lora_a, axes=1), self.lora_b, axes=1)
        return self.base(inputs) + self.scale * update


def _base_dense(layer: Any) -> Any:
    return layer.base if isinstance(layer, LoraDense) else layer


def _parent_and_attribute(model: Any, module: str) -> tuple[Any, str]:
    """The layer object holding a dense as an attribute, and that attribute's name."""
    parts = module.split(".")
    block = model.bert.encoder.layer[int(parts[2])]
    local = ".".join(parts[3:])
    parents = {
        "attention.self.query": (block.attention.self_attention, "query"),
        "attention.self.key": (block.attention.self_attention, "key"),
        "attention.self.value": (block.attention.self_attention, "value"),
        "attention.output.dense": (block.attention.dense_output, "dense"),
        "intermediate.dense": (block.intermediate, "dense"),
        "output.dense": (block.bert_output, "dense"),
    }
    return parents[local]


class LoraTraining:
    """Attach trainable LoRA pairs (and optionally biases/LayerNorms) to an encoder's model.

    Only for a training copy of the encoder: it rewires the model's dense layers in place.
    """

    def __init__(
        self,
        model: Any,
        *,
        rank: int,
        alpha: float,
        targets: Sequence[str] = BLOCK_DENSES,
        train_vectors: bool = True,
        dropout: float = 0.0,
        seed: int = 0,
    ) -> None:
        if rank < 1:
            raise ValueError(f"rank must be >= 1, got {rank}")
        self.scale = alpha / rank
        self._model = model
        self.wrapped: dict[str, LoraDense] = {}
        for k, (name, dense) in enumerate(named_denses(model).items()):
            if not any(name.endswith(t) for t in targets):
                continue
            wrapper = LoraDense(dense, rank, self.scale, seed=seed * 1000 + k, dropout=dropout)
            parent, attribute = _parent_and_attribute(model, name)
            setattr(parent, attribute, wrapper)
            self.wrapped[name] = wrapper
        self.vectors: dict[str, Any] = named_vectors(model) if train_vectors else {}
        self._initial = {name: v.numpy().copy() for name, v in self.vectors.items()}

    @property
    def trainable_variables(self) -> list[Any]:
        low_rank = [v for w in self.wrapped.values() for v in (w.lora_a, w.lora_b)]
        return low_rank + list(self.vectors.values())

    def snapshot(self) -> list[Float32Array]:
        return [np.asarray(v.numpy(), dtype=np.float32).copy() for v in self.trainable_variables]

    def restore(self, values: Sequence[Float32Array]) -> None:
        for variable, value in zip(self.trainable_variables, values, strict=True):
            variable.assign(value)

    def export(self) -> EncoderAdapters:
        """The learned deltas; merging them into a fresh base encoder reproduces this model."""
        return EncoderAdapters(
            scale=self.scale,
            low_rank={
                name: (
                    np.asarray(w.lora_a.numpy(), dtype=np.float32),
                    np.asarray(w.lora_b.numpy(), dtype=np.float32),
                )
                for name, w in self.wrapped.items()
            },
            additive={
                name: np.asarray(v.numpy() - self._initial[name], dtype=np.float32)
                for name, v in self.vectors.items()
            },
        )
