"""Synthetic classified-message traffic with injected incidents of both kinds (fixed seed).

Definitions
-----------
* Bucket: one minute. Each topic is simulated for ``weeks`` weeks starting Monday 00:00 UTC.
* Traffic: messages per bucket ~ Poisson(volume(t)), ``volume(t) = mean_volume * (1 + 0.8 *
  sin(2 pi (hour(t) - 9) / 24))``: a daily cycle from 0.2x (night) to 1.8x (evening peak).
* Baseline negatives: each message is negative with the topic's ``negative_ratio``, so
  negatives ~ Poisson(ratio * volume(t)) and non-negatives ~ Poisson((1 - ratio) * volume(t)).
* Topics: every combination of mean volume {1, 5, 20, 100} messages/min and negative ratio
  {0.05, 0.15, 0.35} (12 topics).
* No-incident period: the whole first week of every topic (it also covers cold start).
* Incidents: ``incidents_per_week`` per later week, at random minutes at least 4 hours apart,
  alternately of each kind. Their strength follows a shape: ``step`` (full strength for
  60 min), ``ramp`` (linear from 0 to full over 30 min, then 30 min at full) or ``burst``
  (full strength for 5 min); multiplier in {2, 3, 5}, boost in {0, 25} per minute (the boost is
  what an incident on a low-volume topic looks like: a burst far above a tiny baseline).

  - ``negative_share``: extra negatives ~ Poisson(shape(t) * ((multiplier - 1) *
    baseline_negatives(t) + boost)). Qualifying (the recall target): at full strength the
    expected negatives per bucket are >= 3x the baseline and >= 20.
  - ``volume``: extra messages ~ Poisson(shape(t) * ((multiplier - 1) * volume(t) + boost)),
    each negative with the topic's ratio, so the share stays where it was. Qualifying: at full
    strength the expected messages per bucket are >= 3x the baseline and >= 20.

  Strength is judged at the quietest minute of the incident.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from benchmarks.alerts.scoring import Incident
from services.alert.alerts import AlertKind
from services.alert.detection.counts import BucketCounts

BUCKETS_PER_WEEK = 7 * 24 * 60
START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
VOLUMES = (1.0, 5.0, 20.0, 100.0)
NEGATIVE_RATIOS = (0.05, 0.15, 0.35)
SHAPES = ("step", "ramp", "burst")
MULTIPLIERS = (2.0, 3.0, 5.0)
BOOSTS = (0.0, 25.0)
_DURATION = {"step": 60, "ramp": 60, "burst": 5}
KINDS = (AlertKind.NEGATIVE_SHARE, AlertKind.VOLUME)


@dataclass(frozen=True)
class Topic:
    name: str
    mean_volume: float
    negative_ratio: float
    incidents: tuple[Incident, ...]
    buckets: tuple[BucketCounts, ...]


def daily_volume(mean_volume: float, minute: int) -> float:
    hour = (minute % (24 * 60)) / 60.0
    return mean_volume * (1.0 + 0.8 * math.sin(2.0 * math.pi * (hour - 9.0) / 24.0))


def shape_factor(shape: str, start: int, end: int, minute: int) -> float:
    if not start <= minute <= end:
        return 0.0
    if shape == "ramp":
        return min(1.0, (minute - start + 1) / 30.0)
    return 1.0


def incident_starts(rng: np.random.Generator, weeks: int, per_week: int) -> list[int]:
    """Random minutes at least 4 hours apart, ``per_week`` in every week after the first."""
    starts: list[int] = []
    for week in range(1, weeks):
        chosen: list[int] = []
        while len(chosen) < per_week:
            candidate = int(
                rng.integers(week * BUCKETS_PER_WEEK, (week + 1) * BUCKETS_PER_WEEK - 90)
            )
            if all(abs(candidate - s) >= 240 for s in chosen):
                chosen.append(candidate)
        starts += sorted(chosen)
    return starts


@dataclass(frozen=True)
class Injected:
    """An incident and how to make it."""

    incident: Incident
    shape: str
    multiplier: float
    boost: float


def schedule_incidents(
    rng: np.random.Generator, weeks: int, per_week: int, ratio: float, mean_volume: float
) -> list[Injected]:
    incidents: list[Injected] = []
    for index, start in enumerate(incident_starts(rng, weeks, per_week)):
        kind = KINDS[index % len(KINDS)]
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        multiplier = MULTIPLIERS[int(rng.integers(len(MULTIPLIERS)))]
        boost = BOOSTS[int(rng.integers(len(BOOSTS)))]
        end = start + _DURATION[shape] - 1
        quietest = min(daily_volume(mean_volume, m) for m in range(start, end + 1))
        counted = ratio * quietest if kind is AlertKind.NEGATIVE_SHARE else quietest
        extra = (multiplier - 1.0) * counted + boost
        full = counted + extra
        qualifying = full >= 3.0 * counted and full >= 20.0
        label = f"{kind.value}:{shape}x{multiplier:g}+{boost:g}"
        incident = Incident(kind, start, end, qualifying, extra >= quietest, label)
        incidents.append(Injected(incident, shape, multiplier, boost))
    return incidents


def true_counts(
    rng: np.random.Generator,
    weeks: int,
    mean_volume: float,
    ratio: float,
    injected: Sequence[Injected],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Negative and other messages per bucket: the daily cycle, then the incidents."""
    minutes = np.arange(weeks * BUCKETS_PER_WEEK)
    hours = (minutes % (24 * 60)) / 60.0
    volume = mean_volume * (1.0 + 0.8 * np.sin(2.0 * np.pi * (hours - 9.0) / 24.0))
    negatives = rng.poisson(ratio * volume)
    others = rng.poisson((1.0 - ratio) * volume)
    for item in injected:
        incident = item.incident
        for minute in range(incident.start, incident.end + 1):
            strength = shape_factor(item.shape, incident.start, incident.end, minute)
            base = float(volume[minute])
            if incident.kind is AlertKind.NEGATIVE_SHARE:
                level = (item.multiplier - 1.0) * ratio * base + item.boost
                negatives[minute] += rng.poisson(strength * level)
            else:
                level = (item.multiplier - 1.0) * base + item.boost
                extra = int(rng.poisson(strength * level))
                extra_negative = int(rng.binomial(extra, ratio))
                negatives[minute] += extra_negative
                others[minute] += extra - extra_negative
    return negatives, others


def generate_topics(
    seed: int = 20240101, weeks: int = 3, incidents_per_week: int = 6
) -> Iterator[Topic]:
    """Yield every topic's buckets and incidents, deterministically for a given seed."""
    rng = np.random.default_rng(seed)
    for mean_volume in VOLUMES:
        for ratio in NEGATIVE_RATIOS:
            injected = schedule_incidents(rng, weeks, incidents_per_week, ratio, mean_volume)
            negatives, others = true_counts(rng, weeks, mean_volume, ratio, injected)
            buckets = tuple(
                BucketCounts(START + timedelta(minutes=i), int(n), int(n + o))
                for i, (n, o) in enumerate(zip(negatives.tolist(), others.tolist(), strict=True))
            )
            incidents = tuple(item.incident for item in injected)
            yield Topic(f"v{mean_volume:g}-r{ratio:g}", mean_volume, ratio, incidents, buckets)
