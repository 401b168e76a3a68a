"""Run the streaming detector over a NAB-style data directory and write one score file per input.

Input: ``<data>/<category>/<name>.csv`` with header ``timestamp,value``.
Output: ``<out>/<category>/<name>.csv`` with header ``timestamp,value,anomaly_score``, one row
per input row, in input order. Every file gets a fresh detector, with the default settings
unless a configuration is given (the leave-one-category-out check compares several).
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.nab.scoring import parse_timestamp
from services.alert.detector import DetectorConfig, StreamingAnomalyDetector


def add_corpus_arguments(parser: argparse.ArgumentParser, *, out_help: str) -> None:
    """--data, --labels, --out and --jobs, as every NAB command takes them."""
    parser.add_argument("--data", type=Path, required=True, help="NAB data dir (<category>/*.csv)")
    parser.add_argument("--labels", type=Path, required=True, help="combined_windows.json")
    parser.add_argument("--out", type=Path, required=True, help=out_help)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")


def data_files(data_dir: Path) -> list[str]:
    """File keys (``<category>/<name>.csv``) of every data file, sorted."""
    return sorted(p.relative_to(data_dir).as_posix() for p in data_dir.glob("*/*.csv"))


def score_file(
    data_dir: Path, out_dir: Path, key: str, config: DetectorConfig | None = None
) -> int:
    """Score one file and write its results; returns the number of rows."""
    detector = StreamingAnomalyDetector(config)
    target = out_dir / key
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with (data_dir / key).open(newline="") as source, target.open("w", newline="") as sink:
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow(["timestamp", "value", "anomaly_score"])
        for row in csv.DictReader(source):
            score = detector.score(float(row["value"]), parse_timestamp(row["timestamp"]))
            writer.writerow([row["timestamp"], row["value"], f"{score:.6f}"])
            rows += 1
    return rows


def run_corpus(
    data_dir: Path,
    out_dir: Path,
    keys: Sequence[str],
    jobs: int = 1,
    config: DetectorConfig | None = None,
) -> int:
    """Score every file in ``keys``; returns the total number of rows scored."""
    if jobs <= 1:
        return sum(score_file(data_dir, out_dir, key, config) for key in keys)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        n = len(keys)
        counts = pool.map(score_file, [data_dir] * n, [out_dir] * n, keys, [config] * n)
        return sum(counts)
