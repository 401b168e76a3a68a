"""What the post-training steps (`add_exemplars`, `add_ngrams`) share: their command line, the
trained bundle's data splits (re-created from the settings recorded in its metrics), the
forward pass that serves its queries, and writing the new version next to it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from servicekit.cache import user_cache_dir
from training.classify.command import command_line

if TYPE_CHECKING:
    from services.classify.bundle import ModelBundle
    from textencoder import SentenceEncoder
    from textencoder.quantized import Int8Encoder  # imports ONNX Runtime
    from training.classify.train import Splits

Forward = Literal["int8", "float32"]
REPO_ROOT = Path(__file__).resolve().parents[2]


def parse_step_args(
    module: str,
    description: str | None,
    argv: list[str],
    *,
    data_help: str,
    forward_help: str,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """--bundle, --data-dir, --version, --output, --forward and --cache-dir of a step, plus
    what `extra` adds."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--bundle", type=Path, required=True, help="the trained bundle")
    parser.add_argument("--data-dir", type=Path, required=True, help=data_help)
    parser.add_argument("--version", required=True, help="version of the new bundle")
    parser.add_argument(
        "--output", type=Path, default=None, help="default: models/classify/<version>"
    )
    parser.add_argument("--forward", choices=("int8", "float32"), default="int8", help=forward_help)
    parser.add_argument("--cache-dir", type=Path, default=user_cache_dir())
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    args.command = command_line(module, argv)
    if args.output is None:
        args.output = REPO_ROOT / "models" / "classify" / args.version
    return args


def bundle_splits(bundle: ModelBundle, data_dir: Path, cache_dir: Path) -> Splits:
    """The splits the bundle was trained on: same seed, fractions and tweet subset."""
    from training.classify.train import TrainingConfig, load_splits

    recorded = bundle.metrics.get("training", {}).get("config", {})
    config = TrainingConfig(
        data_dir=data_dir,
        output_dir=Path("."),  # load_splits writes only the split files, into the cache
        version=bundle.version,
        cache_dir=cache_dir,
        command="",
        sentiment_train_size=int(recorded.get("sentiment_train_size", 0)),
        # Bundles up to v5 recorded the dev share as "val_fraction".
        dev_fraction=float(recorded.get("dev_fraction", recorded.get("val_fraction", 0.1))),
        intent_eval_fraction=float(recorded.get("intent_eval_fraction", 0.1)),
        seed=int(recorded.get("seed", 0)),
    )
    return load_splits(config)


def served_forward(bundle: ModelBundle, forward: Forward) -> SentenceEncoder | Int8Encoder:
    """The bundle's fine-tuned encoder on the given path: int8 ONNX Runtime (CPU serving) or
    float32 TensorFlow (as on GPUs)."""
    from textencoder import SentenceEncoder

    encoder = SentenceEncoder()
    if bundle.adapters is not None:
        encoder.merge_adapters(bundle.adapters)
    return encoder.int8() if forward == "int8" else encoder


def base_model_card(bundle_dir: Path, bundle: ModelBundle, version: str) -> str:
    """The trained bundle's model card, retitled for the new version, less its side-by-side
    figures (they were the old version's); steps append to it."""
    from services.classify.bundle import MODEL_CARD_FILE
    from training.classify.model_card import without_side_by_side

    card = (bundle_dir / MODEL_CARD_FILE).read_text(encoding="utf-8")
    return without_side_by_side(card.replace(f"model {bundle.version}", f"model {version}", 1))


def save_new_version(
    bundle: ModelBundle, output: Path, *, metrics: dict[str, Any], model_card: str
) -> Path:
    """Write `bundle` (its version, pipelines and adapters) to `output`."""
    from services.classify.bundle import save_bundle

    return save_bundle(
        output,
        version=bundle.version,
        encoder_name=bundle.encoder_name,
        encoder_sha256=bundle.encoder_sha256,
        sentiment=bundle.sentiment,
        intent=bundle.intent,
        metrics=metrics,
        model_card=model_card,
        adapters=bundle.adapters,
    )
