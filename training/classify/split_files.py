"""The carved splits as files, so anyone can see which rows scored what and chose what.

`load_splits` writes them into `<cache>/eval/` on every run (same seed, same rows):
the intent held-out split (`banking77_heldout.csv`, reported once) and both dev splits
(`banking77_dev.csv`, `tweeteval_dev_{text,labels}.txt`), which made every choice. Both
formats are those the data sets ship in, so `python -m training.classify.evaluate` reads them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from services.classify.bundle import SENTIMENT_LABELS
from training.classify.datasets import LabeledTexts


@dataclass(frozen=True)
class DevFiles:
    intent_csv: Path
    sentiment_text: Path
    sentiment_labels: Path


def write_heldout_csv(data: LabeledTexts, path: Path) -> Path:
    """The intent evaluation split, for `python -m training.classify.evaluate --csv`."""
    return _write_csv(data, path)


def write_dev_files(intent: LabeledTexts, sentiment: LabeledTexts, folder: Path) -> DevFiles:
    """Banking77's dev split as `text,category` CSV, TweetEval's as a text/labels pair."""
    files = DevFiles(
        intent_csv=folder / "banking77_dev.csv",
        sentiment_text=folder / "tweeteval_dev_text.txt",
        sentiment_labels=folder / "tweeteval_dev_labels.txt",
    )
    _write_csv(intent, files.intent_csv)
    _write_lines(sentiment.texts, files.sentiment_text)
    _write_lines([str(SENTIMENT_LABELS.index(x)) for x in sentiment.labels], files.sentiment_labels)
    return files


def _write_csv(data: LabeledTexts, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "category"])
        writer.writerows(zip(data.texts, data.labels, strict=True))
    return path


def _write_lines(lines: list[str], path: Path) -> None:
    # One per line, "\n" only, as `datasets.read_tweeteval_pair` splits them.
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
