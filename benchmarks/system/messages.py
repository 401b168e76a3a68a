"""Distinct customer messages for the system benchmarks: a file first, then synthetic ones.

Every message a benchmark sends is new to the stack, so classify's cache never answers in
place of the model. The file (`text,category` CSV such as Banking77's `train.csv`, or one
message a line) is de-duplicated and shuffled with a fixed seed; when a run needs more
messages than it holds, the synthetic bank messages of the classify benchmark follow, and the
summary says how many of each were sent.
"""

import argparse
import csv
import random
from pathlib import Path

from benchmarks.classify.messages import generate_messages

# Synthetic messages are generated in chunks of this many, as they are needed.
_SYNTHETIC_CHUNK = 2000


def read_texts(path: Path) -> list[str]:
    """The distinct non-empty texts of a CSV with a `text` column, or of a file of lines."""
    with path.open(encoding="utf-8", newline="") as file:
        if path.suffix == ".csv":
            rows = csv.DictReader(file)
            if rows.fieldnames is None or "text" not in rows.fieldnames:
                raise ValueError(f"{path}: a CSV needs a `text` column")
            texts = [row["text"] for row in rows]
        else:
            texts = file.read().splitlines()
    return list(dict.fromkeys(text.strip() for text in texts if text.strip()))


DEFAULT_SEED = 20261207


def add_message_arguments(parser: argparse.ArgumentParser) -> None:
    """--messages and --seed, as every system benchmark takes them (see `MessagePool`)."""
    parser.add_argument("--messages", type=Path, help="CSV with a text column, or one a line")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="shuffles the messages")


class MessagePool:
    """Hands out each message once: the file's (shuffled), then synthetic ones."""

    def __init__(self, path: Path | None, seed: int = DEFAULT_SEED) -> None:
        self.source = str(path) if path else "synthetic"
        self._file_texts = read_texts(path) if path else []
        random.Random(seed).shuffle(self._file_texts)
        self._seed = seed
        self._synthetic: list[str] = []
        self._given_from_file = 0
        self._given_synthetic = 0

    def take(self, count: int) -> list[str]:
        from_file = self._file_texts[self._given_from_file : self._given_from_file + count]
        self._given_from_file += len(from_file)
        missing = count - len(from_file)
        while len(self._synthetic) < self._given_synthetic + missing:
            self._extend_synthetic()
        synthetic = self._synthetic[self._given_synthetic : self._given_synthetic + missing]
        self._given_synthetic += missing
        return from_file + synthetic

    def summary(self) -> dict[str, int | str]:
        return {
            "source": self.source,
            "from_source": self._given_from_file,
            "synthetic": self._given_synthetic,
        }

    def _extend_synthetic(self) -> None:
        # The generator is deterministic per seed: regenerate a longer list and keep what is
        # new, skipping any text the file already gave.
        wanted = len(self._synthetic) + _SYNTHETIC_CHUNK
        known = set(self._file_texts)
        generated = generate_messages(wanted + len(known), seed=self._seed)
        fresh = [text for text in generated if text not in known]
        self._synthetic = fresh[:wanted]
