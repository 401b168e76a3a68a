"""What the post-training steps (`add_exemplars`, `add_ngrams`) need of a trained bundle: its
data splits, re-created from the settings recorded in its metrics, and the forward pass
that serves its queries."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from services.classify.bundle import ModelBundle
from services.classify.training.train import Splits, TrainingConfig, load_splits
from textencoder import SentenceEncoder

if TYPE_CHECKING:
    from textencoder.quantized import Int8Encoder  # imports ONNX Runtime

Forward = Literal["int8", "float32"]


def bundle_splits(bundle: ModelBundle, data_dir: Path, cache_dir: Path) -> Splits:
    """The splits the bundle was trained on: same seed, fractions and tweet subset."""
    recorded = bundle.metrics.get("training", {}).get("config", {})
    config = TrainingConfig(
        data_dir=data_dir,
        output_dir=Path("."),  # nothing is written by load_splits but the held-out CSV
        version=bundle.version,
        cache_dir=cache_dir,
        command="",
        sentiment_train_size=int(recorded.get("sentiment_train_size", 0)),
        val_fraction=float(recorded.get("val_fraction", 0.1)),
        intent_eval_fraction=float(recorded.get("intent_eval_fraction", 0.1)),
        seed=int(recorded.get("seed", 0)),
    )
    return load_splits(config)


def served_forward(bundle: ModelBundle, forward: Forward) -> SentenceEncoder | Int8Encoder:
    """The bundle's fine-tuned encoder on the given path: int8 ONNX Runtime (CPU serving) or
    float32 TensorFlow (as on GPUs)."""
    encoder = SentenceEncoder()
    if bundle.adapters is not None:
        encoder.merge_adapters(bundle.adapters)
    return encoder.int8() if forward == "int8" else encoder
