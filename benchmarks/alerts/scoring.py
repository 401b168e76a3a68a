"""Scoring alerts against injected incidents, per kind: what both alert benchmarks report.

An alert is a bucket where a kind's incident tracker decided ``OPEN``. A negative-share alert
is true when it falls inside a negative-share incident or within ``resolve_after_buckets`` of
its end; a volume alert likewise for any incident that at least doubled the topic's messages
(a negative burst on a quiet topic is a surge of messages too). Every other alert is false.
An incident is detected when a true alert of its kind falls in that range; its delay is the
alert's bucket minus the incident's first bucket. ``recall`` counts the qualifying incidents
(the generator's definition), ``recall_all_incidents`` every one of the kind, and
``median_resolve_lag_buckets`` how many buckets after a detected incident's last one its alert
resolved.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from services.alert.alerts import AlertKind
from services.alert.detection.counts import BucketCounts
from services.alert.detection.incidents import Decision
from services.alert.detection.series_monitor import SeriesMonitor


@dataclass(frozen=True)
class Incident:
    kind: AlertKind
    start: int  # bucket index
    end: int  # last bucket index, inclusive
    qualifying: bool
    # At full strength it at least doubles the topic's messages: a volume alert then is right,
    # whatever the kind injected.
    doubles_volume: bool
    label: str = ""  # how it was made, for the list of missed ones


@dataclass
class SeriesRun:
    """One series replayed through a SeriesMonitor: where each kind opened and resolved."""

    name: str
    buckets: int
    incidents: Sequence[Incident]
    opened: dict[AlertKind, list[int]] = field(default_factory=dict)
    resolved: dict[AlertKind, list[int]] = field(default_factory=dict)


def replay(
    name: str,
    monitor: SeriesMonitor,
    buckets: Iterable[BucketCounts],
    incidents: Sequence[Incident],
) -> SeriesRun:
    """Feed every bucket to the monitor, as the bucket closer does, and record its decisions."""
    run = SeriesRun(name, 0, incidents, {k: [] for k in AlertKind}, {k: [] for k in AlertKind})
    for index, bucket in enumerate(buckets):
        for verdict in monitor.observe(bucket).by_kind:
            if verdict.decision is Decision.OPEN:
                run.opened[verdict.kind].append(index)
            elif verdict.decision is Decision.RESOLVE:
                run.resolved[verdict.kind].append(index)
        run.buckets = index + 1
    return run


def _explains(incident: Incident, kind: AlertKind) -> bool:
    if kind is AlertKind.NEGATIVE_SHARE:
        return incident.kind is AlertKind.NEGATIVE_SHARE
    return incident.kind is AlertKind.VOLUME or incident.doubles_volume


def score_kind(
    runs: Sequence[SeriesRun],
    kind: AlertKind,
    resolve_after: int,
    buckets_per_week: int,
    topic_weeks: float | None = None,
) -> tuple[dict[str, float | None], list[str]]:
    """The kind's figures over every run, and the qualifying incidents it missed. False alerts
    are per topic-week of `topic_weeks` (default: of every run)."""
    alerts = true_alerts = 0
    detected = {True: 0, False: 0}
    incidents = {True: 0, False: 0}
    delays: list[int] = []
    resolve_lags: list[int] = []
    missed: list[str] = []
    if topic_weeks is None:
        topic_weeks = sum(run.buckets for run in runs) / buckets_per_week
    for run in runs:
        opened, resolved = run.opened[kind], run.resolved[kind]

        def near(alert: int, incident: Incident) -> bool:
            return incident.start <= alert <= incident.end + resolve_after

        for incident in run.incidents:
            if incident.kind is not kind:
                continue
            incidents[incident.qualifying] += 1
            hits = [a for a in opened if near(a, incident)]
            if hits:
                detected[incident.qualifying] += 1
                later = [r for r in resolved if r > hits[0]]
                if later:
                    resolve_lags.append(later[0] - incident.end)
                if incident.qualifying:
                    delays.append(hits[0] - incident.start)
            elif incident.qualifying:
                missed.append(f"{run.name}:{incident.label}")
        for alert in opened:
            alerts += 1
            if any(near(alert, i) and _explains(i, kind) for i in run.incidents):
                true_alerts += 1
    figures: dict[str, float | None] = {
        "precision": round(true_alerts / alerts, 4) if alerts else 1.0,
        "recall": round(detected[True] / max(incidents[True], 1), 4),
        "recall_all_incidents": round(sum(detected.values()) / max(sum(incidents.values()), 1), 4),
        "median_delay_buckets": statistics.median(delays) if delays else None,
        "false_alerts_per_topic_week": round((alerts - true_alerts) / topic_weeks, 4),
        "median_resolve_lag_buckets": statistics.median(resolve_lags) if resolve_lags else None,
        "alerts": alerts,
        "incidents": incidents[True],
    }
    return figures, missed
