"""Compact, exact fine-tuning deltas for all-MiniLM-L6-v2: LoRA pairs plus bias/LayerNorm shifts.

A fine-tuned copy of the encoder is ~87 MB; what fine-tuning changed is much smaller:

    low_rank   kernel delta = scale * A @ B of a dense layer, A (in, r), B (r, out)
    additive   a dense delta of a bias or LayerNorm vector (BitFit-style)

Entries are keyed by the PyTorch module / parameter names of the encoder's safetensors file
(e.g. `encoder.layer.0.attention.self.query`, `encoder.layer.0.output.LayerNorm.bias`).
`SentenceEncoder.merge_adapters` adds them into the TensorFlow weights once, at load time
(W += scale * A @ B), so a fine-tuned encoder serves exactly as fast as the base one.

This module is numpy only: a process serving the cached int8 model reads a bundle's adapters
(for their fingerprint) without TensorFlow. Merging and training them is `textencoder.lora`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file, save_file

ADAPTERS_FORMAT = "carepulse-lora-v1"

Float32Array = npt.NDArray[np.float32]


class AdapterError(ValueError):
    """Adapter tensors are malformed or do not fit the encoder."""


@dataclass(frozen=True, eq=False)
class EncoderAdapters:
    """What fine-tuning changed in the encoder, as exact additive deltas."""

    scale: float
    low_rank: Mapping[str, tuple[Float32Array, Float32Array]]  # module -> (A, B)
    additive: Mapping[str, Float32Array]  # parameter name -> delta

    def __post_init__(self) -> None:
        for name, (a, b) in self.low_rank.items():
            if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
                raise AdapterError(f"{name}: A {a.shape} and B {b.shape} do not chain")

    @property
    def rank(self) -> int:
        return max((a.shape[1] for a, _ in self.low_rank.values()), default=0)

    def kernel_delta(self, module: str) -> Float32Array:
        """scale * A @ B in (in, out) orientation, computed in float64 then rounded once."""
        a, b = self.low_rank[module]
        delta = self.scale * (a.astype(np.float64) @ b.astype(np.float64))
        return np.asarray(delta, dtype=np.float32)

    @property
    def sha256(self) -> str:
        """Fingerprint of the exact tensors, so an encoder knows which deltas it carries."""
        digest = hashlib.sha256(repr(float(self.scale)).encode())
        for key, value in sorted(self.to_tensors().items()):
            digest.update(key.encode() + np.ascontiguousarray(value).tobytes())
        return digest.hexdigest()

    def to_tensors(self) -> dict[str, Float32Array]:
        tensors: dict[str, Float32Array] = {}
        for name, (a, b) in self.low_rank.items():
            tensors[f"lora_a.{name}"] = np.ascontiguousarray(a, dtype=np.float32)
            tensors[f"lora_b.{name}"] = np.ascontiguousarray(b, dtype=np.float32)
        for name, delta in self.additive.items():
            tensors[f"delta.{name}"] = np.ascontiguousarray(delta, dtype=np.float32)
        return tensors

    def save(self, path: Path | str) -> Path:
        metadata = {"format": ADAPTERS_FORMAT, "scale": json.dumps(float(self.scale))}
        save_file(self.to_tensors(), str(path), metadata=metadata)
        return Path(path)

    @classmethod
    def load(cls, path: Path | str) -> EncoderAdapters:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
        if metadata.get("format") != ADAPTERS_FORMAT or "scale" not in metadata:
            raise AdapterError(f"{path} is not a {ADAPTERS_FORMAT} adapter file")
        tensors = load_file(str(path))
        low_rank: dict[str, tuple[Float32Array, Float32Array]] = {}
        additive: dict[str, Float32Array] = {}
        for key, value in tensors.items():
            kind, _, name = key.partition(".")
            if kind == "lora_a":
                if f"lora_b.{name}" not in tensors:
                    raise AdapterError(f"{path}: {name} has A but no B")
                low_rank[name] = (
                    value.astype(np.float32),
                    tensors[f"lora_b.{name}"].astype(np.float32),
                )
            elif kind == "delta":
                additive[name] = value.astype(np.float32)
            elif kind != "lora_b":
                raise AdapterError(f"{path}: unexpected tensor {key}")
        return cls(scale=float(json.loads(metadata["scale"])), low_rank=low_rank, additive=additive)
