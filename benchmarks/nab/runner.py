"""Run the service's volume detector over a NAB-style data directory, one score file per input.

Input: ``<data>/<category>/<name>.csv`` with header ``timestamp,value``.
Output: ``<out>/<category>/<name>.csv`` with header ``timestamp,value,anomaly_score``, one row
per input row, in input order. Each file is one series, fed value by value to a fresh
:class:`~services.alert.detection.series_monitor.VolumeWatch` (the volume kind of the
service's SeriesMonitor: its surge detector and incident tracker), with the service's defaults
unless a configuration is given (the leave-one-category-out check compares several).

A row's score is what the service would alert on: the bucket's score where the watch could
open an incident (none open, no cooldown) and 0 while one is open, in its cooldown, or
resolving. NAB counts the first detection in each window and charges every other one outside
the windows, as an operator does with pages.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.nab.scoring import parse_timestamp
from services.alert.detection.incidents import Decision, IncidentRules
from services.alert.detection.series_monitor import VolumeWatch
from services.alert.detection.volume import VolumeConfig, VolumeJudgement


def add_corpus_arguments(parser: argparse.ArgumentParser, *, out_help: str) -> None:
    """--data, --labels, --out and --jobs, as every NAB command takes them."""
    parser.add_argument("--data", type=Path, required=True, help="NAB data dir (<category>/*.csv)")
    parser.add_argument("--labels", type=Path, required=True, help="combined_windows.json")
    parser.add_argument("--out", type=Path, required=True, help=out_help)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")


def data_files(data_dir: Path) -> list[str]:
    """File keys (``<category>/<name>.csv``) of every data file, sorted."""
    return sorted(p.relative_to(data_dir).as_posix() for p in data_dir.glob("*/*.csv"))


def alert_score(judgement: VolumeJudgement, decision: Decision) -> float:
    """The score NAB sees: the bucket's where it could open an incident, else 0."""
    if decision is Decision.OPEN or (decision is Decision.NONE and not judgement.surged):
        return judgement.score
    return 0.0


def score_file(data_dir: Path, out_dir: Path, key: str, config: VolumeConfig | None = None) -> int:
    """Score one file and write its results; returns the number of rows."""
    watch = VolumeWatch.fresh(config or VolumeConfig(), IncidentRules())
    target = out_dir / key
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with (data_dir / key).open(newline="") as source, target.open("w", newline="") as sink:
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow(["timestamp", "value", "anomaly_score"])
        for row in csv.DictReader(source):
            judgement, decision = watch.observe(
                float(row["value"]), parse_timestamp(row["timestamp"])
            )
            writer.writerow(
                [row["timestamp"], row["value"], f"{alert_score(judgement, decision):.6f}"]
            )
            rows += 1
    return rows


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
