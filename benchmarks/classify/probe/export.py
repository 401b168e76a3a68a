"""``python -m benchmarks.classify.probe.export --data-dir DIR --out DIR``: the probe's inputs.

Writes ``splits.npz`` (token ids and label ids of every split of the v4 recipe, plus all
training tweets), ``encoder.safetensors`` (MiniLM in float16, embedding rows for the used ids
only) and ``config.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer

from services.classify.bundle import SENTIMENT_LABELS
from textencoder.tokens import TOKENIZER_FILE, WEIGHTS_FILE, default_model_dir
from training.classify.datasets import LabeledTexts
from training.classify.train import Splits, TrainingConfig, load_splits

V4_TWEETS = 16_000  # the served bundle's tweet subset (train + validation)
SPECIAL_IDS = (0, 100, 101, 102, 103)  # [PAD] [UNK] [CLS] [SEP] [MASK]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.classify.probe.export")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    named = _named_splits(args.data_dir)
    model_dir = default_model_dir()
    tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=128)
    ids = {
        name: [e.ids for e in tokenizer.encode_batch(data.texts)] for name, data in named.items()
    }
    used = sorted({i for rows in ids.values() for row in rows for i in row} | set(SPECIAL_IDS))
    new_id = np.zeros(max(used) + 1, dtype=np.int32)
    new_id[used] = np.arange(len(used))

    intent_labels = sorted(set(named["intent_train"].labels))
    arrays: dict[str, np.ndarray] = {}
    for name, rows in ids.items():
        labels = intent_labels if name.startswith("intent") else list(SENTIMENT_LABELS)
        arrays[f"{name}_lengths"] = np.array([len(r) for r in rows], dtype=np.int32)
        arrays[f"{name}_ids"] = new_id[np.concatenate([np.asarray(r) for r in rows])]
        arrays[f"{name}_labels"] = np.array([labels.index(x) for x in named[name].labels])
    args.out.mkdir(parents=True, exist_ok=True)
    # numpy's stubs read a ** mapping as also filling allow_pickle
    np.savez_compressed(args.out / "splits.npz", **arrays)  # type: ignore[arg-type]

    weights = load_file(str(model_dir / WEIGHTS_FILE))
    weights.pop("embeddings.position_ids", None)
    embeddings = "embeddings.word_embeddings.weight"
    weights[embeddings] = weights[embeddings][used]
    save_file(
        {k: v.astype(np.float16) for k, v in weights.items()}, args.out / "encoder.safetensors"
    )
    config = json.loads((model_dir / "config.json").read_text()) | {"vocab_size": len(used)}
    (args.out / "config.json").write_text(json.dumps(config, indent=1))
    print(json.dumps({"splits": {n: len(d) for n, d in named.items()}, "vocabulary": len(used)}))


def _named_splits(data_dir: Path) -> dict[str, LabeledTexts]:
    """The v4 recipe's splits, and every training tweet (same seed and validation share)."""

    def splits(tweets: int, cache: Path) -> Splits:
        config = TrainingConfig(
            data_dir=data_dir,
            output_dir=cache,
            version="probe",
            cache_dir=cache,
            command="",
            sentiment_train_size=tweets,
        )
        return load_splits(config)

    with tempfile.TemporaryDirectory() as scratch:  # load_splits writes the split files
        v4, every = splits(V4_TWEETS, Path(scratch)), splits(0, Path(scratch))
    return {
        "intent_train": v4.intent_train,
        "intent_val": v4.intent_dev,
        "intent_eval": v4.intent_eval,
        "sentiment16k_train": v4.sentiment_train,
        "sentiment_train": every.sentiment_train,
        "sentiment_val": every.sentiment_dev,
        "sentiment_eval": every.sentiment_eval,
    }


if __name__ == "__main__":
    main()
