"""Run the service's volume detector over a NAB-style data directory, one score file per input.

Input: ``<data>/<category>/<name>.csv`` with header ``timestamp,value``.
Output: ``<out>/<category>/<name>.csv`` with header ``timestamp,value,anomaly_score``, one row
per input row, in input order. Each file is one series, fed value by value to a fresh
:class:`~services.alert.detection.series_monitor.VolumeWatch` (the volume kind of the
service's SeriesMonitor: its surge detector and incident tracker), with the service's defaults
unless a configuration is given (the leave-one-category-out check compares several). A row is
a bucket as wide as the file's median row spacing (5 minutes for most of NAB, 30 for the taxi
counts), with the settings the service derives for that bucket width.

A row's score is what the service would alert on: the bucket's score where the watch could
open an incident (none open, no cooldown) and 0 while one is open, in its cooldown, or
resolving. NAB counts the first detection in each window and charges every other one outside
the windows, as an operator does with pages.
"""

from __future__ import annotations

import argparse
import csv
import itertools
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.nab.scoring import parse_timestamp
from benchmarks.nab.subsets import SUBSETS
from services.alert.detection.incidents import Decision, IncidentRules
from services.alert.detection.series_monitor import VolumeWatch
from services.alert.detection.volume import VolumeConfig, VolumeJudgement


def add_corpus_arguments(parser: argparse.ArgumentParser, *, out_help: str) -> None:
    """--data, --labels, --out, --jobs and --subset, as every NAB command takes them."""
    parser.add_argument("--data", type=Path, required=True, help="NAB data dir (<category>/*.csv)")
    parser.add_argument("--labels", type=Path, required=True, help="combined_windows.json")
    parser.add_argument("--out", type=Path, required=True, help=out_help)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--subset", choices=sorted(SUBSETS), help="only these files (benchmarks/nab/subsets.py)"
    )


def data_files(data_dir: Path, subset: str | None = None) -> list[str]:
    """File keys (``<category>/<name>.csv``) of every data file, or of those in the named
    subset, sorted."""
    keys = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.glob("*/*.csv"))
    if subset is None:
        return keys
    return [key for key in keys if key in SUBSETS[subset]]


def alert_score(judgement: VolumeJudgement, decision: Decision) -> float:
    """The score NAB sees: the bucket's where it could open an incident, else 0."""
    if decision is Decision.OPEN or (decision is Decision.NONE and not judgement.surged):
        return judgement.score
    return 0.0


def bucket_width(timestamps: Sequence[datetime]) -> timedelta:
    """The median spacing of the rows (a few gaps or duplicates do not move it)."""
    if len(timestamps) < 2:
        return timedelta(minutes=5)  # NAB's usual spacing; a single row learns nothing anyway
    gaps = sorted(b - a for a, b in itertools.pairwise(timestamps))
    return gaps[len(gaps) // 2]


def score_file(data_dir: Path, out_dir: Path, key: str, config: VolumeConfig | None = None) -> int:
    """Score one file and write its results; returns the number of rows."""
    with (data_dir / key).open(newline="") as source:
        rows = [(row["timestamp"], row["value"]) for row in csv.DictReader(source)]
    timestamps = [parse_timestamp(timestamp) for timestamp, _ in rows]
    settings = (config or VolumeConfig()).for_bucket_width(bucket_width(timestamps))
    watch = VolumeWatch.fresh(settings, IncidentRules())
    target = out_dir / key
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as sink:
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow(["timestamp", "value", "anomaly_score"])
        for (timestamp, value), at in zip(rows, timestamps, strict=True):
            judgement, decision = watch.observe(float(value), at)
            writer.writerow([timestamp, value, f"{alert_score(judgement, decision):.6f}"])
    return len(rows)


def run_corpus(
    data_dir: Path,
    out_dir: Path,
    keys: Sequence[str],
    jobs: int = 1,
    config: VolumeConfig | None = None,
) -> int:
    """Score every file in ``keys``; returns the total number of rows scored."""
    if jobs <= 1:
        return sum(score_file(data_dir, out_dir, key, config) for key in keys)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        n = len(keys)
        counts = pool.map(score_file, [data_dir] * n, [out_dir] * n, keys, [config] * n)
        return sum(counts)
