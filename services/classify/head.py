"""`SoftmaxHead`: a linear layer on the sentence vector, softmax with a fitted temperature."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


class HeadError(ValueError):
    """The head's shapes or temperature are inconsistent."""


@dataclass(frozen=True, eq=False)
class SoftmaxHead:
    labels: tuple[str, ...]
    kernel: npt.NDArray[np.float32]  # (dim, n_labels)
    bias: npt.NDArray[np.float32]  # (n_labels,)
    temperature: float = 1.0

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.kernel.ndim != 2 or self.kernel.shape[1] != n or self.bias.shape != (n,):
            raise HeadError(
                f"head shapes {self.kernel.shape}/{self.bias.shape} do not fit {n} labels"
            )
        if not self.temperature > 0:
            raise HeadError(f"temperature must be > 0, got {self.temperature}")

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    def logits(self, embeddings: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return np.asarray(embeddings @ self.kernel + self.bias, dtype=np.float32)

    def probabilities(self, embeddings: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return softmax(self.logits(embeddings) / np.float32(self.temperature))

    def distribution(
        self, vectors: npt.NDArray[np.float32], texts: Sequence[str]
    ) -> npt.NDArray[np.float32]:
        """The head's calibrated distribution (a pipeline component; texts are not read)."""
        return self.probabilities(vectors)

    def settings(self) -> dict[str, Any]:
        """What the manifest declares of this head (its tensors go to heads.safetensors)."""
        return {"temperature": self.temperature}


def softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=-1, keepdims=True), dtype=np.float32)
