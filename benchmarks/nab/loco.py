"""Leave-one-category-out (LOCO) check of the volume detector's settings on NAB.

``python -m benchmarks.nab.loco --data DIR --labels FILE --out DIR [--jobs N] [--only NAME]
[--subset NAME] [--group category|file]``

A corpus score rewards settings fitted to these very files. LOCO asks whether the way the
settings were chosen generalises: for each category (``realKnownCause``, ...) in turn, the
candidate settings *and* the threshold are chosen on the other categories only (best
normalized score there), and the held-out category is scored at that choice. The pooled LOCO
score sums the held-out raw scores of every category and normalizes them like a corpus score,
so a category without windows (artificialNoAnomaly) counts through its false positives.

The candidates are the service's defaults and their neighbours along each setting this check
guards (a step either way), so a default that only wins on some categories is not chosen when
they are held out, and the held-out score shows what that costs. ``--only default`` keeps the
shipped settings fixed, so only the threshold is chosen without the held-out category. Prints
one line per held-out category and profile, then a JSON object with the pooled scores.

On a subset (``--subset count-like``) the files are held out one at a time instead
(``--group file``, its default there): its nine files fall in three categories, and holding
out the one with six of them would leave three files, one of each kind, to choose on.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from benchmarks.nab.runner import add_corpus_arguments, data_files, run_corpus
from benchmarks.nab.scoring import (
    PROFILES,
    CostProfile,
    LabelledPoint,
    label_points,
    load_windows,
    read_scored_file,
    score_at_threshold,
    sweep_best_threshold,
)
from services.alert.detection.volume import VolumeConfig

# The settings of the shipped detector this check guards, each with its alternatives.
_GUARDED_SETTINGS: dict[str, tuple[float, ...]] = {
    "level_buckets": (60.0, 360.0, 1440.0),
    "sustained_buckets": (0, 5, 10),
    "min_fold": (1.5, 2.0, 3.0),
    "routine_buckets": (288.0, 1440.0, 10080.0),
    "record_days": (0, 7, 14),
}


def candidate_configs() -> dict[str, VolumeConfig]:
    """The defaults, and each guarded setting varied alone."""
    default = VolumeConfig()
    candidates = {"default": default}
    for name, values in _GUARDED_SETTINGS.items():
        for value in values:
            setting: dict[str, Any] = {name: type(getattr(default, name))(value)}
            config = replace(default, **setting)
            if config != default:
                candidates[f"{name}={value:g}"] = config
    return candidates


def category_of(key: str) -> str:
    """NAB's category of a file key: ``realKnownCause/nyc_taxi.csv`` -> ``realKnownCause``."""
    return key.split("/")[0]


def file_of(key: str) -> str:
    """The file key itself, to hold files out one at a time."""
    return key


GROUPINGS: dict[str, Callable[[str], str]] = {"category": category_of, "file": file_of}


@dataclass(frozen=True)
class HeldOut:
    """The choice made without one group of files, and that group's score under it."""

    group: str
    candidate: str
    result: Mapping[str, float]


# candidate -> file key -> labelled points
Labelled = Mapping[str, Mapping[str, list[LabelledPoint]]]


def _pooled(points: Mapping[str, list[LabelledPoint]], keys: Sequence[str]) -> list[LabelledPoint]:
    return [point for key in keys for point in points[key]]


def leave_one_group_out(
    labelled: Labelled,
    window_counts: Mapping[str, int],
    profile: CostProfile,
    group_of: Callable[[str], str] = category_of,
) -> tuple[float, list[HeldOut]]:
    """Pooled score of ``profile`` with each group held out in turn (by default the
    categories: LOCO), and the per-group choices and scores."""
    keys = sorted(window_counts)
    groups = sorted({group_of(key) for key in keys})
    raw = null = perfect = 0.0
    held_out: list[HeldOut] = []
    for group in groups:
        train = [key for key in keys if group_of(key) != group]
        test = [key for key in keys if group_of(key) == group]
        train_windows = sum(window_counts[key] for key in train)
        choices = {
            name: sweep_best_threshold(_pooled(points, train), profile, train_windows)
            for name, points in labelled.items()
        }
        chosen = max(choices, key=lambda name: choices[name].normalized)
        result = score_at_threshold(
            _pooled(labelled[chosen], test),
            profile,
            sum(window_counts[key] for key in test),
            choices[chosen].threshold,
        )
        raw, null, perfect = raw + result.raw, null + result.null, perfect + result.perfect
        summary = {
            "threshold": round(result.threshold, 6),
            "normalized": round(result.normalized, 2),
            "raw": round(result.raw, 3),
            "false_positives": result.false_positives,
        }
        held_out.append(HeldOut(group, chosen, summary))
    return 100.0 * (raw - null) / (perfect - null), held_out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.nab.loco", description=__doc__)
    add_corpus_arguments(parser, out_help="one score dir per candidate")
    parser.add_argument(
        "--only",
        choices=sorted(candidate_configs()),
        help="one candidate: only the threshold is chosen without the held-out category",
    )
    parser.add_argument(
        "--group",
        choices=sorted(GROUPINGS),
        help="what is held out: a category (default) or, on a subset, a file (its default)",
    )
    args = parser.parse_args()
    group_of = GROUPINGS[args.group or ("file" if args.subset else "category")]

    windows = load_windows(args.labels)
    keys = [key for key in data_files(args.data, args.subset) if key in windows]
    labelled: dict[str, dict[str, list[LabelledPoint]]] = {}
    candidates = candidate_configs()
    if args.only:
        candidates = {args.only: candidates[args.only]}
    for name, config in candidates.items():
        out = args.out / name
        run_corpus(args.data, out, keys, jobs=args.jobs, config=config)
        labelled[name] = {}
        for key in keys:
            timestamps, scores = read_scored_file(out / key)
            labelled[name][key] = label_points(key, timestamps, scores, windows[key])
    window_counts = {key: len(windows[key]) for key in keys}

    summary: dict[str, object] = {"files": len(keys), "candidates": len(labelled)}
    for profile in PROFILES:
        pooled, held_out = leave_one_group_out(labelled, window_counts, profile, group_of)
        for item in held_out:
            print(f"{profile.name:>14} {item.group:<22} {item.candidate:<22} {item.result}")
        summary[f"loco_{profile.name}"] = round(pooled, 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
