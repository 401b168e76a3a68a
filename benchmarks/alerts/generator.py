"""Synthetic classified-message traffic with injected incidents (fixed seed, reproducible).

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
* Incidents: ``incidents_per_week`` per later week, at random minutes at least 4 hours apart.
  Extra negatives per bucket ~ Poisson(extra(t)) with ``extra(t) = shape(t) * ((multiplier - 1)
  * baseline_negatives(t) + boost)``; multiplier in {2, 3, 5}, boost in {0, 25} negatives/min
  (the boost is what an incident on a low-volume topic looks like: a burst of complaints
  far above a tiny baseline). Shapes: ``step`` (full strength for 60 min), ``ramp`` (linear
  from 0 to full over 30 min, then 30 min at full) and ``burst`` (full strength for 5 min).
* Qualifying incident (the recall target): at full strength the expected negatives per bucket
  are >= 3x the baseline and >= 20 messages.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from services.alert.spike import BucketCounts

BUCKETS_PER_WEEK = 7 * 24 * 60
START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
VOLUMES = (1.0, 5.0, 20.0, 100.0)
NEGATIVE_RATIOS = (0.05, 0.15, 0.35)
SHAPES = ("step", "ramp", "burst")
MULTIPLIERS = (2.0, 3.0, 5.0)
BOOSTS = (0.0, 25.0)
_DURATION = {"step": 60, "ramp": 60, "burst": 5}


@dataclass(frozen=True)
class Incident:
    start: int  # bucket index
    end: int  # last bucket index, inclusive
    shape: str
    multiplier: float
    boost: float
    qualifying: bool


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


def _shape_factor(incident: Incident, minute: int) -> float:
    if not incident.start <= minute <= incident.end:
        return 0.0
    if incident.shape == "ramp":
        return min(1.0, (minute - incident.start + 1) / 30.0)
    return 1.0


def _schedule(
    rng: np.random.Generator, weeks: int, per_week: int, ratio: float, mean_volume: float
) -> list[Incident]:
    incidents: list[Incident] = []
    for week in range(1, weeks):
        starts: list[int] = []
        while len(starts) < per_week:
            candidate = int(
                rng.integers(week * BUCKETS_PER_WEEK, (week + 1) * BUCKETS_PER_WEEK - 90)
            )
            if all(abs(candidate - s) >= 240 for s in starts):
                starts.append(candidate)
        for start in sorted(starts):
            shape = SHAPES[int(rng.integers(len(SHAPES)))]
            multiplier = MULTIPLIERS[int(rng.integers(len(MULTIPLIERS)))]
            boost = BOOSTS[int(rng.integers(len(BOOSTS)))]
            end = start + _DURATION[shape] - 1
            # Qualification at full strength, judged at the quietest minute of the incident.
            base = min(ratio * daily_volume(mean_volume, m) for m in range(start, end + 1))
            full = base + (multiplier - 1.0) * base + boost
            qualifying = full >= 3.0 * base and full >= 20.0
            incidents.append(Incident(start, end, shape, multiplier, boost, qualifying))
    return incidents


def generate_topics(
    seed: int = 20240101, weeks: int = 3, incidents_per_week: int = 6
) -> Iterator[Topic]:
    """Yield every topic's buckets and incidents, deterministically for a given seed."""
    rng = np.random.default_rng(seed)
    for mean_volume in VOLUMES:
        for ratio in NEGATIVE_RATIOS:
            incidents = _schedule(rng, weeks, incidents_per_week, ratio, mean_volume)
            minutes = np.arange(weeks * BUCKETS_PER_WEEK)
            hours = (minutes % (24 * 60)) / 60.0
            volume = mean_volume * (1.0 + 0.8 * np.sin(2.0 * np.pi * (hours - 9.0) / 24.0))
            negatives = rng.poisson(ratio * volume)
            others = rng.poisson((1.0 - ratio) * volume)
            for incident in incidents:
                for minute in range(incident.start, incident.end + 1):
                    base = ratio * float(volume[minute])
                    level = (incident.multiplier - 1.0) * base + incident.boost
                    negatives[minute] += rng.poisson(_shape_factor(incident, minute) * level)
            buckets = tuple(
                BucketCounts(START + timedelta(minutes=i), int(n), int(n + o))
                for i, (n, o) in enumerate(zip(negatives.tolist(), others.tolist(), strict=True))
            )
            yield Topic(
                f"v{mean_volume:g}-r{ratio:g}", mean_volume, ratio, tuple(incidents), buckets
            )
