"""`python -m services.classify.training`: train the classify heads and export a bundle."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.classify.training", description=__doc__
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
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "models/classify/v1")
    parser.add_argument("--version", default="v1")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "carepulse",
        help="embeddings, the held-out intent split and downloads go here",
    )
    parser.add_argument(
        "--sentiment-train-size",
        type=int,
        default=0,
        help="stratified subset of TweetEval train to use (0: all 47k tweets)",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    # Imported here so TF_CPP_MIN_LOG_LEVEL is set before TensorFlow loads.
    from services.classify.training.datasets import download_banking77, download_tweeteval
    from services.classify.training.train import TrainingConfig, run_training

    data_dir: Path = args.data_dir
    if args.download:
        data_dir = args.cache_dir / "datasets"
        download_banking77(data_dir)
        for split in ("train", "val"):
            download_tweeteval(data_dir, split)
    command = "python -m services.classify.training " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    run_training(
        TrainingConfig(
            data_dir=data_dir,
            output_dir=args.output,
            version=args.version,
            cache_dir=args.cache_dir,
            command=command,
            sentiment_train_size=args.sentiment_train_size,
            seed=args.seed,
        )
    )


if __name__ == "__main__":
    main()
