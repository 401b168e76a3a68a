"""Loaders for the public training sets (read locally; download code kept for a fresh machine).

Banking77 (Casanueva et al., 2020; CC BY 4.0): CSV with header `text,category`.
TweetEval sentiment (Barbieri et al., 2020; SemEval-2017 Task 4A terms): `<split>_text.txt` and
`<split>_labels.txt`, one tweet / one label (0 negative, 1 neutral, 2 positive) per line.
"""

from __future__ import annotations

import csv
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.classify.bundle import SENTIMENT_LABELS

BANKING77_URL = (
    "https://raw.githubusercontent.com/PolyAI-LDN/task-specific-datasets/master/"
    "banking_data/{split}.csv"
)
TWEETEVAL_URL = (
    "https://raw.githubusercontent.com/cardiffnlp/tweeteval/main/datasets/sentiment/"
    "{split}_{kind}.txt"
)


class DatasetError(ValueError):
    """A dataset file is missing or malformed."""


@dataclass(frozen=True)
class LabeledTexts:
    texts: list[str]
    labels: list[str]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise DatasetError(f"{len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, rows: Sequence[int] | np.ndarray) -> LabeledTexts:
        return LabeledTexts([self.texts[i] for i in rows], [self.labels[i] for i in rows])


def read_banking77_csv(path: Path) -> LabeledTexts:
    """Rows of a `text,category` CSV (the Banking77 format)."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"text", "category"} <= set(reader.fieldnames):
            raise DatasetError(f"{path}: expected a header with text,category")
        rows = [(r["text"], r["category"]) for r in reader]
    return LabeledTexts([t for t, _ in rows], [c for _, c in rows])


def read_tweeteval_pair(text_path: Path, labels_path: Path) -> LabeledTexts:
    """A TweetEval text file and its label file (0/1/2), mapped to negative/neutral/positive."""
    texts = _read_lines(text_path)
    raw = _read_lines(labels_path)
    if len(texts) != len(raw):
        raise DatasetError(f"{text_path} has {len(texts)} lines but {labels_path} {len(raw)}")
    try:
        labels = [SENTIMENT_LABELS[int(x)] for x in raw]
    except (ValueError, IndexError) as e:
        raise DatasetError(f"{labels_path}: labels must be 0, 1 or 2 ({e})") from e
    return LabeledTexts(texts, labels)


def download_banking77(dest: Path, split: str = "train") -> Path:
    """Fetch a Banking77 split from the PolyAI-LDN GitHub repository."""
    return _download(BANKING77_URL.format(split=split), dest / "banking77" / f"{split}.csv")


def download_tweeteval(dest: Path, split: str = "train") -> tuple[Path, Path]:
    """Fetch a TweetEval sentiment split (text + labels) from cardiffnlp/tweeteval."""
    folder = dest / "tweeteval_sentiment"
    return (
        _download(TWEETEVAL_URL.format(split=split, kind="text"), folder / f"{split}_text.txt"),
        _download(TWEETEVAL_URL.format(split=split, kind="labels"), folder / f"{split}_labels.txt"),
    )


def _download(url: str, target: Path) -> Path:
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as f:
        f.write(response.read())
    partial.replace(target)
    return target


def _read_lines(path: Path) -> list[str]:
    # Split on "\n" only: tweets may contain other Unicode line separators.
    text = path.read_text(encoding="utf-8")
    return text.removesuffix("\n").split("\n") if text else []
