"""all-mpnet-base-v2 vectors of every split `load_splits` carves, cached under the user cache.

    nice -n 10 python -m training.classify.mpnet_embeddings --data-dir ../shared/datasets

Each split is cached by the weights' sha256, max_length and its exact texts
(`embedding_cache.cached_encode`), so `teacher_probe` later reads them back for free. The
training tweets go in chunks of a fixed seeded permutation, each cached on its own: a run cut
short keeps its chunks, and a probe given `--sentiment-train-chunks N` uses the first N, a
fixed random subset of the split.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from servicekit.cache import user_cache_dir
from training.classify.command import configure_command_logging
from training.classify.datasets import LabeledTexts
from training.classify.embedding_cache import TextEncoder, cached_encode

if TYPE_CHECKING:
    from training.classify.train import Splits

# Tokens: 0.05% of the training tweets and 0.3% of Banking77 queries are longer (truncated).
MAX_LENGTH = 64
TRAIN_CHUNK = 4000
PERMUTATION_SEED = 0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Embedded:
    data: LabeledTexts
    vectors: npt.NDArray[np.float32]


def probe_splits(data_dir: Path, cache_dir: Path) -> Splits:
    """v5's splits: every tweet used (42,724 train / 4,747 dev), seed 0, 10% fractions."""
    from training.classify.train import TrainingConfig, load_splits

    config = TrainingConfig(
        data_dir=data_dir, output_dir=Path("."), version="v5", cache_dir=cache_dir, command=""
    )
    return load_splits(config)


def embed_split(encoder: TextEncoder, data: LabeledTexts, cache_dir: Path, name: str) -> Embedded:
    vectors = cached_encode(encoder, data.texts, cache_dir, name=f"mpnet-{name}", batch_size=32)
    return Embedded(data, vectors)


def embed_train_tweets(
    encoder: TextEncoder, data: LabeledTexts, cache_dir: Path, chunks: int | None = None
) -> Embedded:
    """The first `chunks` chunks (all if None) of the split's seeded permutation."""
    order = np.random.default_rng(PERMUTATION_SEED).permutation(len(data))
    starts = list(range(0, len(data), TRAIN_CHUNK))[:chunks]
    rows: list[npt.NDArray[np.int64]] = []
    parts: list[npt.NDArray[np.float32]] = []
    for number, start in enumerate(starts):
        chunk_rows = order[start : start + TRAIN_CHUNK]
        chunk = data.subset(chunk_rows)
        started = time.monotonic()
        parts.append(
            embed_split(encoder, chunk, cache_dir, f"tweeteval-train-{number:02d}").vectors
        )
        rows.append(chunk_rows)
        log.info(
            "train tweets chunk %d/%d: %.0f s", number + 1, len(starts), time.monotonic() - started
        )
    taken = np.concatenate(rows)
    return Embedded(data.subset(taken), np.concatenate(parts))


def embed_all(encoder: TextEncoder, splits: Splits, cache_dir: Path) -> None:
    """Smallest first, so the probe's dev comparisons can start before the long tail ends."""
    named: Sequence[tuple[str, LabeledTexts]] = (
        ("tweeteval-dev", splits.sentiment_dev),
        ("tweeteval-val", splits.sentiment_eval),
        ("banking77-train", splits.intent_train),
        ("banking77-dev", splits.intent_dev),
        ("banking77-heldout", splits.intent_eval),
    )
    for name, data in named:
        started = time.monotonic()
        embed_split(encoder, data, cache_dir, name)
        log.info("%s (%d texts): %.0f s", name, len(data), time.monotonic() - started)
    embed_train_tweets(encoder, splits.sentiment_train, cache_dir)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--cache-dir", type=Path, default=user_cache_dir())
    args = parser.parse_args(argv)
    configure_command_logging()
    # Imported here so TF_CPP_MIN_LOG_LEVEL is set before TensorFlow loads.
    from training.classify.mpnet_encoder import MPNetEncoder
    from training.classify.mpnet_package import ensure_model

    encoder = MPNetEncoder(ensure_model(args.cache_dir), max_length=MAX_LENGTH)
    embed_all(encoder, probe_splits(args.data_dir, args.cache_dir), args.cache_dir)


if __name__ == "__main__":
    main()
