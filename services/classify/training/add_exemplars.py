"""Add an intent exemplar memory to a trained bundle, as a new bundle version.

    python -m services.classify.training.add_exemplars --bundle models/classify/v2 \\
        --data-dir ../shared/datasets --version v3

Re-creates the bundle's Banking77 splits (same seed and fractions), embeds them with the
bundle's fine-tuned encoder on the path that serves queries (`--forward`: int8 ONNX Runtime on
CPUs, the default deployment, or float32 TensorFlow as on GPUs: neighbour ranks are sensitive
to the ~0.01 cosine between the two), chooses the vote settings on the validation split,
scores the held-out split, and writes `models/classify/<version>`: the same heads and adapters
plus `exemplars.safetensors`, with updated metrics and model card. A few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.classify.training.add_exemplars", description=__doc__
    )
    parser.add_argument("--bundle", type=Path, required=True, help="the trained bundle")
    parser.add_argument("--data-dir", type=Path, required=True, help="holds banking77/train.csv")
    parser.add_argument("--version", required=True, help="version of the new bundle")
    parser.add_argument(
        "--output", type=Path, default=None, help="default: models/classify/<version>"
    )
    parser.add_argument(
        "--forward",
        choices=("int8", "float32"),
        default="int8",
        help="forward pass that embeds the exemplars; match the one that serves queries",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "carepulse",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Imported here so TF_CPP_MIN_LOG_LEVEL is set before TensorFlow loads.
    from services.classify.bundle import MODEL_CARD_FILE, load_bundle, save_bundle
    from services.classify.training.exemplars import build_intent_exemplars
    from services.classify.training.train import TrainingConfig, load_splits, score_blended
    from textencoder import SentenceEncoder

    bundle = load_bundle(args.bundle)
    recorded = bundle.metrics.get("training", {}).get("config", {})
    output = args.output or REPO_ROOT / "models" / "classify" / args.version
    config = TrainingConfig(
        data_dir=args.data_dir,
        output_dir=output,
        version=args.version,
        cache_dir=args.cache_dir,
        command="",
        val_fraction=float(recorded.get("val_fraction", 0.1)),
        intent_eval_fraction=float(recorded.get("intent_eval_fraction", 0.1)),
        seed=int(recorded.get("seed", 0)),
    )
    splits = load_splits(config)
    encoder = SentenceEncoder()
    if bundle.adapters is not None:
        encoder.merge_adapters(bundle.adapters)

    forward = encoder.int8() if args.forward == "int8" else encoder

    def embedded(texts: list[str]) -> Any:
        return forward.encode(texts, batch_size=32)

    exemplars, choice = build_intent_exemplars(
        bundle.intent,
        (embedded(splits.intent_train.texts), splits.intent_train.labels),
        (embedded(splits.intent_val.texts), splits.intent_val.labels),
    )
    report = score_blended(
        bundle.intent, exemplars, embedded(splits.intent_eval.texts), splits.intent_eval.labels
    )
    command = "python -m services.classify.training.add_exemplars " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    metrics = dict(bundle.metrics)
    metrics["intent_head_only"] = metrics["intent"]
    metrics["intent"] = dict(metrics["intent"]) | {"evaluation": report.to_json()}
    metrics["intent_exemplars"] = {
        "count": int(exemplars.vectors.shape[0]),
        "forward": args.forward,
        "k": choice.k,
        "temperature": choice.temperature,
        "weight": choice.weight,
        "validation_accuracy": choice.val_accuracy,
        "validation_log_loss": choice.val_log_loss,
        "head_only_validation_accuracy": choice.head_val_accuracy,
        "command": command,
    }
    card = (args.bundle / MODEL_CARD_FILE).read_text(encoding="utf-8")
    card = card.replace(f"model {bundle.version}", f"model {args.version}", 1)
    head_only = metrics["intent_head_only"]["evaluation"]
    card += _exemplar_section(
        bundle.version, command, metrics["intent_exemplars"], report.to_json(), head_only
    )
    out = save_bundle(
        output,
        version=args.version,
        encoder_name=bundle.encoder_name,
        encoder_sha256=bundle.encoder_sha256,
        sentiment=bundle.sentiment,
        intent=bundle.intent,
        metrics=metrics,
        model_card=card,
        adapters=bundle.adapters,
        intent_exemplars=exemplars,
    )
    print(f"bundle written to {out}: intent held-out {report.to_json() | {'per_class': '...'}}")


def _exemplar_section(
    base: str,
    command: str,
    settings: dict[str, Any],
    blended: dict[str, Any],
    head_only: dict[str, Any],
) -> str:
    def row(name: str, m: dict[str, Any]) -> str:
        return f"| {name} | {m['accuracy']} | {m['macro_recall']} | {m['macro_f1']} | {m['ece']} |"

    return f"""
## Intent exemplars (added to {base})

`exemplars.safetensors` holds the fine-tuned encoder's vectors of the {settings["count"]:,}
Banking77 training and validation messages (stored int8, one scale per row), computed on the
{settings["forward"]} forward pass, the one that serves queries on CPUs; a float32 (GPU) query
against them loses a little accuracy, since neighbour ranks move with the ~0.01 cosine between
the two passes. An intent's vote is the
softmax (temperature {settings["temperature"]}) over the similarities of the {settings["k"]}
nearest messages; the served distribution is {settings["weight"]} x votes +
{1 - settings["weight"]:g} x head probabilities. The three settings were chosen by accuracy on
the validation split (votes from the training split): {settings["validation_accuracy"]} against
the head's {settings["head_only_validation_accuracy"]}. The held-out split is not in the index.

Command: `{command}`

| held-out intent (n={blended["n"]}) | accuracy | macro recall | macro F1 | ECE |
|---|---|---|---|---|
{row("head only", head_only)}
{row("head + exemplars", blended)}
"""


if __name__ == "__main__":
    main()
