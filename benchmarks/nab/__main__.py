"""``python -m benchmarks.nab --data DIR --labels FILE --out DIR [--jobs N] [--subset NAME]``.

Runs the service's volume detector (``runner``) over every data file, writes the score files,
scores every file that has an entry in the labels (files with an empty window list count too:
their detections are false positives), and writes NAB's per-file table for each profile to
``<out>/<profile>_scores.csv``. Prints the standard profile's per-file table, one line per
profile and, as the last line, a JSON object with the three normalized NAB scores.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import astuple, fields
from pathlib import Path

from benchmarks.nab.runner import add_corpus_arguments, data_files, run_corpus
from benchmarks.nab.scoring import (
    PROFILES,
    FileScore,
    file_scores,
    load_windows,
    score_results_dir,
)

_JSON_KEYS = {
    "standard": "nab_standard",
    "reward_low_fp": "nab_reward_low_fp",
    "reward_low_fn": "nab_reward_low_fn",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.nab", description=__doc__)
    add_corpus_arguments(parser, out_help="where score files are written")
    args = parser.parse_args()

    started = time.monotonic()
    keys = data_files(args.data, args.subset)
    rows = run_corpus(args.data, args.out, keys, jobs=args.jobs)
    elapsed = time.monotonic() - started
    print(f"scored {rows} rows in {len(keys)} files in {elapsed:.1f}s")

    labelled = [key for key in keys if key in load_windows(args.labels)]
    results = score_results_dir(args.out, args.labels, labelled)
    summary: dict[str, object] = {"files": len(labelled)}
    for profile, result in zip(PROFILES, results, strict=True):
        table = file_scores(args.out, args.labels, labelled, profile, result.threshold)
        _write_table(args.out / f"{profile.name}_scores.csv", table)
        if profile.name == "standard":
            _print_table(table)
        print(
            f"{result.profile:>14}: {result.normalized:6.2f}  threshold={result.threshold:.6f}"
            f"  raw={result.raw:.3f}  tp={result.true_positives} fp={result.false_positives}"
            f" fn={result.false_negatives}"
        )
        summary[_JSON_KEYS[result.profile]] = round(result.normalized, 2)
    print(json.dumps(summary))


def _write_table(path: Path, table: list[FileScore]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([field.name for field in fields(FileScore)])
        writer.writerows(astuple(row) for row in table)


def _print_table(table: list[FileScore]) -> None:
    print(f"{'file (standard profile)':<58} {'score':>7} {'tp':>3} {'fp':>4} {'fn':>3}")
    for row in table:
        print(
            f"{row.file:<58} {row.score:7.3f} {row.true_positives:3d}"
            f" {row.false_positives:4d} {row.false_negatives:3d}"
        )


if __name__ == "__main__":
    main()
