"""`python -m training.classify.train_base`: train the classify model and export a bundle.

Default (v2): LoRA adapters on the encoder trained jointly with both heads. `--method frozen
--version v1` reproduces v1 (heads on the frozen encoder).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from servicekit.cache import user_cache_dir
from training.classify.command import command_line, configure_command_logging
from training.classify.fit import FineTuneConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
# Tweets for LoRA training (incl. 10% dev): what fits the CPU time budget.
LORA_SENTIMENT_SIZE = 16_000


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.classify.train_base", description=__doc__
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data-dir",
        type=Path,
        help="folder holding banking77/train.csv and tweeteval_sentiment/{train,val}_*.txt",
    )
    source.add_argument(
        "--download",
        action="store_true",
        help="fetch the data sets from their public GitHub sources into the cache folder",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="default: models/classify/<version>"
    )
    parser.add_argument("--version", default="v2")
    parser.add_argument(
        "--method",
        choices=("lora", "frozen"),
        default="lora",
        help="lora: fine-tune LoRA adapters with the heads (v2); frozen: heads only (v1)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=user_cache_dir(),
        help="embeddings, the split files (eval/) and downloads go here",
    )
    parser.add_argument(
        "--sentiment-train-size",
        type=int,
        default=None,
        help="stratified subset of TweetEval train to use, 10%% of it for the dev split "
        f"(0: all 47k tweets; default: {LORA_SENTIMENT_SIZE} for lora, 0 for frozen)",
    )
    parser.add_argument("--seed", type=int, default=0)
    lora = parser.add_argument_group("lora")
    defaults = FineTuneConfig()
    lora.add_argument("--rank", type=int, default=defaults.rank)
    lora.add_argument("--alpha", type=float, default=defaults.alpha)
    lora.add_argument("--intent-epochs", type=float, default=defaults.intent_epochs)
    lora.add_argument("--sentiment-epochs", type=float, default=defaults.sentiment_epochs)
    lora.add_argument("--batch-size", type=int, default=defaults.batch_size)
    lora.add_argument("--adapter-lr", type=float, default=defaults.adapter_learning_rate)
    lora.add_argument("--head-lr", type=float, default=defaults.head_learning_rate)
    lora.add_argument(
        "--evaluations",
        type=int,
        default=defaults.evaluations,
        help="dev checkpoints for model selection",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_command_logging()

    # Imported here so TF_CPP_MIN_LOG_LEVEL is set before TensorFlow loads.
    from training.classify.datasets import download_banking77, download_tweeteval
    from training.classify.train import TrainingConfig, run_training

    data_dir: Path = args.data_dir
    if args.download:
        data_dir = args.cache_dir / "datasets"
        download_banking77(data_dir)
        for split in ("train", "val"):
            download_tweeteval(data_dir, split)
    command = command_line("training.classify.train_base", sys.argv[1:] if argv is None else argv)
    finetune = None
    if args.method == "lora":
        finetune = FineTuneConfig(
            rank=args.rank,
            alpha=args.alpha,
            intent_epochs=args.intent_epochs,
            sentiment_epochs=args.sentiment_epochs,
            batch_size=args.batch_size,
            adapter_learning_rate=args.adapter_lr,
            head_learning_rate=args.head_lr,
            evaluations=args.evaluations,
            seed=args.seed,
        )
    sentiment_train_size = args.sentiment_train_size
    if sentiment_train_size is None:
        sentiment_train_size = LORA_SENTIMENT_SIZE if finetune is not None else 0
    run_training(
        TrainingConfig(
            data_dir=data_dir,
            output_dir=args.output or REPO_ROOT / "models" / "classify" / args.version,
            version=args.version,
            cache_dir=args.cache_dir,
            command=command,
            sentiment_train_size=sentiment_train_size,
            seed=args.seed,
            finetune=finetune,
        )
    )


if __name__ == "__main__":
    main()
