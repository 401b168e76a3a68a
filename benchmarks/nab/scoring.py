"""NAB scoring (Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms", 2015).

The rules, as the reference implementation (numenta/NAB ``nab/sweeper.py``) applies them:

* Each file has labelled anomaly windows. The first ``min(floor(0.15 * rows), 750)`` rows of
  a file are its probationary period: detections there are ignored.
* A detection is a row whose anomaly score is >= the threshold. A detection inside a window
  earns ``A_TP * sigma(p) / sigma(-1)`` where ``p = -(right - i + 1) / width`` runs from -1 at
  the window's left edge to ~0 at its right edge and ``sigma(p) = 2 / (1 + exp(5p)) - 1``.
  Only the best (earliest) detection of a window counts; a window without one costs ``-A_FN``.
* A detection outside every window costs ``A_FP * sigma(q)`` (negative), where ``q`` is the
  distance past the end of the preceding window in units of that window's width, so a
  detection just after a window costs almost nothing and one far away (or before any window)
  costs the full ``A_FP``.
* One threshold per profile is chosen for the whole corpus: every distinct score is tried and
  the best total kept (NAB's sweep optimizer).
* Normalized score: ``100 * (raw - null) / (perfect - null)``; ``null`` is the score with no
  detections (every window missed), ``perfect`` is ``A_TP`` per window.
"""

from __future__ import annotations

import csv
import json
import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PROBATIONARY_FRACTION = 0.15
PROBATIONARY_MAX_ROWS = 750  # NAB: 0.15 * 5000
_START_THRESHOLD = 1.1  # above any score in [0, 1]: nothing detected


@dataclass(frozen=True)
class CostProfile:
    """Application profile: the weight of a true positive, false positive and false negative."""

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


PROFILES: tuple[CostProfile, ...] = (
    CostProfile("standard", tp_weight=1.0, fp_weight=0.11, fn_weight=1.0),
    CostProfile("reward_low_fp", tp_weight=1.0, fp_weight=0.22, fn_weight=1.0),
    CostProfile("reward_low_fn", tp_weight=1.0, fp_weight=0.11, fn_weight=2.0),
)


@dataclass(frozen=True)
class LabelledPoint:
    """One scorable row: its anomaly score and what a detection there would be worth.

    ``window`` names the window the row lies in (None outside every window); ``weight`` is the
    unweighted scaled-sigmoid value: divided by sigma(-1) inside a window, raw outside.
    """

    anomaly_score: float
    window: str | None
    weight: float


@dataclass(frozen=True)
class ProfileResult:
    """The corpus score of one profile at its best threshold."""

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    normalized: float
    true_positives: int
    false_positives: int
    false_negatives: int


def scaled_sigmoid(relative_position: float) -> float:
    """NAB's reward curve: ~1 at a window's left edge, 0 at its right edge, -1 far after it."""
    if relative_position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * relative_position)) - 1.0


def probationary_length(rows: int) -> int:
    """Number of leading rows of a file whose detections NAB ignores."""
    return min(math.floor(PROBATIONARY_FRACTION * rows), PROBATIONARY_MAX_ROWS)


def label_points(
    file_key: str,
    timestamps: Sequence[datetime],
    anomaly_scores: Sequence[float],
    windows: Sequence[tuple[datetime, datetime]],
) -> list[LabelledPoint]:
    """Attach to every non-probationary row the window it lies in and its sigmoid weight."""
    if len(timestamps) != len(anomaly_scores):
        raise ValueError(f"{file_key}: {len(timestamps)} timestamps, {len(anomaly_scores)} scores")
    # Window limits as row indices; a window covers the rows whose timestamps lie inside it.
    bounds: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        first, last = bisect_left(timestamps, start), bisect_right(timestamps, end) - 1
        if first <= last:
            bounds.append((first, last))
    max_tp = scaled_sigmoid(-1.0)
    probation = probationary_length(len(timestamps))
    points: list[LabelledPoint] = []
    next_window = 0
    current: tuple[int, int] | None = None
    previous: tuple[int, int] | None = None
    for i, score in enumerate(anomaly_scores):
        if current is None and next_window < len(bounds) and i == bounds[next_window][0]:
            current = bounds[next_window]
            next_window += 1
        name: str | None
        if current is not None:
            first, last = current
            width = last - first + 1
            weight = scaled_sigmoid(-(last - i + 1) / width) / max_tp
            name = f"{file_key}|{first}"
        else:
            if previous is None:
                position = 3.0
            else:
                first, last = previous
                position = abs(last - i) / max(last - first, 1)
            weight = scaled_sigmoid(position)
            name = None
        if i >= probation:
            points.append(LabelledPoint(float(score), name, weight))
        if current is not None and i == current[1]:
            previous, current = current, None
    return points


def sweep_best_threshold(
    points: Sequence[LabelledPoint], profile: CostProfile, window_count: int
) -> ProfileResult:
    """Try every distinct score as threshold over the whole corpus and keep the best total."""
    ordered = sorted(points, key=lambda p: p.anomaly_score, reverse=True)
    window_scores = {p.window: -profile.fn_weight for p in ordered if p.window is not None}
    null = sum(window_scores.values())
    fp_total = 0.0
    fp_count = 0
    detected: set[str] = set()
    best = (null, _START_THRESHOLD, 0, 0)
    total = null
    for index, point in enumerate(ordered):
        if point.window is None:
            fp_total += point.weight * profile.fp_weight
            fp_count += 1
        else:
            candidate = point.weight * profile.tp_weight
            previous = window_scores[point.window]
            if candidate > previous:
                window_scores[point.window] = candidate
                total += candidate - previous
            detected.add(point.window)
        last_of_group = (
            index + 1 == len(ordered) or ordered[index + 1].anomaly_score != point.anomaly_score
        )
        if last_of_group and total + fp_total > best[0]:
            best = (total + fp_total, point.anomaly_score, len(detected), fp_count)
    raw, threshold, tp, fp = best
    return _result(profile, window_count, threshold, raw, null, tp, fp, len(window_scores) - tp)


def score_at_threshold(
    points: Sequence[LabelledPoint], profile: CostProfile, window_count: int, threshold: float
) -> ProfileResult:
    """Score ``points`` at a threshold chosen elsewhere (e.g. on other files), same rules."""
    window_scores = {p.window: -profile.fn_weight for p in points if p.window is not None}
    null = sum(window_scores.values())
    fp_total = 0.0
    fp_count = 0
    for point in points:
        if point.anomaly_score < threshold:
            continue
        if point.window is None:
            fp_total += point.weight * profile.fp_weight
            fp_count += 1
        else:
            candidate = point.weight * profile.tp_weight
            window_scores[point.window] = max(window_scores[point.window], candidate)
    raw = sum(window_scores.values()) + fp_total
    detected = sum(1 for score in window_scores.values() if score > -profile.fn_weight)
    missed = len(window_scores) - detected
    return _result(profile, window_count, threshold, raw, null, detected, fp_count, missed)


def _result(
    profile: CostProfile,
    window_count: int,
    threshold: float,
    raw: float,
    null: float,
    true_positives: int,
    false_positives: int,
    false_negatives: int,
) -> ProfileResult:
    """Normalise `raw` so the null detector scores 0 and the perfect one 100 (NAB paper)."""
    perfect = profile.tp_weight * window_count
    normalized = 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0
    return ProfileResult(
        profile=profile.name,
        threshold=threshold,
        raw=raw,
        null=null,
        perfect=perfect,
        normalized=normalized,
        true_positives=true_positives,
        false_positives=false_positives,
        false_negatives=false_negatives,
    )


def score_corpus(
    scored_files: Mapping[str, tuple[Sequence[datetime], Sequence[float]]],
    windows: Mapping[str, Sequence[tuple[datetime, datetime]]],
    profiles: Iterable[CostProfile] = PROFILES,
) -> list[ProfileResult]:
    """Score every file in ``scored_files`` (key -> timestamps, scores) against its windows."""
    points: list[LabelledPoint] = []
    window_count = 0
    for key, (timestamps, scores) in scored_files.items():
        file_windows = windows.get(key, ())
        window_count += len(file_windows)
        points.extend(label_points(key, timestamps, scores, file_windows))
    return [sweep_best_threshold(points, profile, window_count) for profile in profiles]


def parse_timestamp(text: str) -> datetime:
    """NAB timestamps: ``2014-07-01 00:00:00`` with optional fractional seconds."""
    return datetime.fromisoformat(text.strip())


def load_windows(labels_path: Path) -> dict[str, list[tuple[datetime, datetime]]]:
    """Read NAB's ``combined_windows.json``: file key -> list of [start, end] timestamps."""
    raw: dict[str, list[list[str]]] = json.loads(labels_path.read_text())
    return {
        key: [(parse_timestamp(start), parse_timestamp(end)) for start, end in pairs]
        for key, pairs in raw.items()
    }


def read_scored_file(path: Path) -> tuple[list[datetime], list[float]]:
    """Read a results CSV with header ``timestamp,value,anomaly_score``."""
    timestamps: list[datetime] = []
    scores: list[float] = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            timestamps.append(parse_timestamp(row["timestamp"]))
            scores.append(float(row["anomaly_score"]))
    return timestamps, scores


def score_results_dir(
    results_dir: Path, labels_path: Path, file_keys: Iterable[str]
) -> list[ProfileResult]:
    """Score the written result files for ``file_keys`` (``<category>/<file name>``)."""
    windows = load_windows(labels_path)
    scored = {key: read_scored_file(results_dir / key) for key in file_keys if key in windows}
    return score_corpus(scored, windows)


@dataclass(frozen=True)
class FileScore:
    """One file's part of a corpus score at the corpus threshold, as NAB's per-file table."""

    file: str
    threshold: float
    score: float  # raw, unnormalized: what this file adds to the corpus total
    true_positives: int  # windows detected
    false_positives: int  # detections outside every window
    false_negatives: int  # windows missed
    rows: int


def file_scores(
    results_dir: Path,
    labels_path: Path,
    file_keys: Iterable[str],
    profile: CostProfile,
    threshold: float,
) -> list[FileScore]:
    """Each file scored alone at ``threshold`` (the corpus's), with ``profile``'s weights."""
    windows = load_windows(labels_path)
    table: list[FileScore] = []
    for key in file_keys:
        if key not in windows:
            continue
        timestamps, scores = read_scored_file(results_dir / key)
        points = label_points(key, timestamps, scores, windows[key])
        result = score_at_threshold(points, profile, len(windows[key]), threshold)
        table.append(
            FileScore(
                key,
                threshold,
                result.raw,
                result.true_positives,
                result.false_positives,
                result.false_negatives,
                len(timestamps),
            )
        )
    return table
