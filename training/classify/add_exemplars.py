"""Add exemplar memories for both heads to a trained bundle, as a new bundle version.

    python -m training.classify.add_exemplars --bundle models/classify/v2 \\
        --data-dir ../shared/datasets --version v3

Re-creates the bundle's data splits (same seed, fractions and tweet subset), embeds them with the
bundle's fine-tuned encoder on the path that serves queries (`--forward`: int8 ONNX Runtime on
CPUs, the default deployment, or float32 TensorFlow as on GPUs: neighbour ranks are sensitive
to the ~0.01 cosine between the two), chooses the vote settings on the dev split (votes from
the training split only), scores the held-out split, and writes `models/classify/<version>`:
the same heads and adapters plus `intent_exemplars.safetensors` and
`sentiment_exemplars.safetensors`, with updated metrics and model card. A few minutes on 2
cores.

`--tasks intent` leaves the sentiment head without a memory: a head fine-tuned on every tweet
gains little from voting over the same tweets, and its dev tweets then stay outside every
index, free to choose the n-gram blend on (`add_ngrams`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from training.classify.bundle_data import parse_step_args
from training.classify.command import configure_command_logging

TASKS = ("intent", "sentiment")

if TYPE_CHECKING:
    from services.classify.head import SoftmaxHead
    from training.classify.datasets import LabeledTexts
    from training.classify.train import Splits


def main(argv: list[str] | None = None) -> None:
    args = parse_step_args(
        "training.classify.add_exemplars",
        __doc__,
        sys.argv[1:] if argv is None else argv,
        data_help="holds banking77/train.csv",
        forward_help="forward pass that embeds the exemplars; match the one that serves queries",
        extra=add_tasks_argument,
    )
    configure_command_logging()
    # Imported here so TF_CPP_MIN_LOG_LEVEL is set before TensorFlow loads.
    from services.classify.bundle import load_bundle
    from services.classify.pipeline import TaskPipeline
    from training.classify.bundle_data import (
        base_model_card,
        bundle_splits,
        save_new_version,
        served_forward,
    )
    from training.classify.exemplars import Metric, build_exemplars
    from training.classify.train import score_pipeline

    bundle = load_bundle(args.bundle)
    splits = bundle_splits(bundle, args.data_dir, args.cache_dir)
    forward = served_forward(bundle, args.forward)

    def embedded(data: LabeledTexts) -> tuple[Any, Sequence[str]]:
        return forward.encode(data.texts, batch_size=32), data.labels

    metrics = dict(bundle.metrics)
    card = base_model_card(args.bundle, bundle, args.version)
    # Head and exemplar votes only: an n-gram share was chosen against other exemplars.
    pipelines = {
        "intent": TaskPipeline.head_only(bundle.intent.head),
        "sentiment": TaskPipeline.head_only(bundle.sentiment.head),
    }
    tasks: list[tuple[str, SoftmaxHead, LabeledTexts, LabeledTexts, LabeledTexts, Metric]] = [
        ("intent", bundle.intent.head, *_splits_of(splits, "intent"), "accuracy"),
        ("sentiment", bundle.sentiment.head, *_splits_of(splits, "sentiment"), "macro_recall"),
    ]
    for name, head, train, dev, held_out, metric in tasks:
        if name not in args.tasks:
            continue
        index, choice = build_exemplars(head, embedded(train), embedded(dev), metric)
        pipelines[name] = pipelines[name].with_component(choice.weight, index)
        vectors, gold = embedded(held_out)
        report = score_pipeline(pipelines[name], vectors, held_out.texts, gold).to_json()
        metrics[f"{name}_head_only"] = metrics[name]
        metrics[name] = dict(metrics[name]) | {"evaluation": report}
        metrics[f"{name}_exemplars"] = {
            "count": int(index.vectors.shape[0]),
            "forward": args.forward,
            "command": args.command,
            **asdict(choice),
        }
        head_only = metrics[f"{name}_head_only"]["evaluation"]
        card += _exemplar_section(
            name, bundle.version, metrics[f"{name}_exemplars"], report, head_only
        )
        print(f"{name} held-out: {report | {'per_class': '...'}}")
    card += f"\nCommand: `{args.command}`\n"
    new_version = replace(
        bundle, version=args.version, sentiment=pipelines["sentiment"], intent=pipelines["intent"]
    )
    out = save_new_version(new_version, args.output, metrics=metrics, model_card=card)
    print(f"bundle written to {out}")


def add_tasks_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tasks",
        nargs="+",
        choices=TASKS,
        default=list(TASKS),
        help="heads that get an exemplar memory (default: both)",
    )


def _splits_of(splits: Splits, task: str) -> tuple[LabeledTexts, LabeledTexts, LabeledTexts]:
    if task == "intent":
        return splits.intent_train, splits.intent_dev, splits.intent_eval
    return splits.sentiment_train, splits.sentiment_dev, splits.sentiment_eval


def _exemplar_section(
    name: str,
    base: str,
    settings: dict[str, Any],
    blended: dict[str, Any],
    head_only: dict[str, Any],
) -> str:
    def row(label: str, m: dict[str, Any]) -> str:
        return f"| {label} | {m['accuracy']} | {m['macro_recall']} | {m['macro_f1']} | {m['ece']} |"

    balancing = ", divided by each label's share of the exemplars," if settings["balanced"] else ""
    return f"""
## {name.capitalize()} exemplars (added to {base})

`{name}_exemplars.safetensors` holds the fine-tuned encoder's vectors of the
{settings["count"]:,} {name} training and dev messages (stored as 4-bit codes),
computed on the {settings["forward"]} forward pass, the one that serves queries on CPUs; a
float32 (GPU) query against them loses a little, since neighbour ranks move with the ~0.01
cosine between the two passes. A label's vote is the softmax (temperature
{settings["temperature"]}) over the similarities of the {settings["k"]} nearest
messages{balancing}; the served distribution is {settings["weight"]} x votes +
{1 - settings["weight"]:g} x head probabilities. The settings were chosen by dev
{settings["metric"]} (votes from the training split): {settings["dev_score"]} against the
head's {settings["head_dev_score"]}. The held-out split is not in the index, the dev split is:
served scores on dev are leaky, so the dev figure of record is this selection-time one.

| held-out {name} (n={blended["n"]}) | accuracy | macro recall | macro F1 | ECE |
|---|---|---|---|---|
{row("head only", head_only)}
{row("head + exemplars", blended)}
"""


if __name__ == "__main__":
    main()
