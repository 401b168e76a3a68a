"""``python -m benchmarks.alerts [--seed N] [--weeks N] [--sustained-buckets N]``: score the
spike monitor.

An alert is a bucket where the monitor opens an episode (``new_alert``). It is true when it
falls inside an incident or within ``resolve_after_buckets`` after its end, false otherwise.
An incident is detected when a true alert falls in that range; its delay is the alert's bucket
minus the incident's first bucket. Prints per-shape details and, as the last line, JSON with
``precision``, ``recall`` (qualifying incidents, see ``generator``), ``median_delay_buckets``
and ``false_alerts_per_topic_week``, plus ``recall_all_incidents`` (qualifying or not) and
``median_resolve_lag_buckets``: for each detected incident, how many buckets after its last
one the episode resolved.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from benchmarks.alerts.generator import BUCKETS_PER_WEEK, generate_topics
from services.alert.spike import NegativeSpikeMonitor, SpikeConfig


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.alerts", description=__doc__)
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--weeks", type=int, default=3)
    parser.add_argument(
        "--sustained-buckets",
        type=int,
        default=SpikeConfig.sustained_buckets,
        help="window of the sustained-excess test (0: off)",
    )
    args = parser.parse_args()

    started = time.monotonic()
    config = SpikeConfig(sustained_buckets=args.sustained_buckets)
    alerts = true_alerts = false_alerts = topic_weeks = 0
    detected: dict[bool, int] = {True: 0, False: 0}
    incidents_by_kind: dict[bool, int] = {True: 0, False: 0}
    delays: list[int] = []
    resolve_lags: list[int] = []
    missed: list[str] = []
    for topic in generate_topics(seed=args.seed, weeks=args.weeks):
        monitor = NegativeSpikeMonitor(config)
        alert_buckets: list[int] = []
        resolved_buckets: list[int] = []
        for i, bucket in enumerate(topic.buckets):
            verdict = monitor.observe(bucket)
            if verdict.new_alert:
                alert_buckets.append(i)
            if verdict.resolved:
                resolved_buckets.append(i)
        topic_weeks += len(topic.buckets) // BUCKETS_PER_WEEK
        for incident in topic.incidents:
            incidents_by_kind[incident.qualifying] += 1
            hits = [
                a
                for a in alert_buckets
                if incident.start <= a <= incident.end + config.resolve_after_buckets
            ]
            if hits:
                detected[incident.qualifying] += 1
                resolved = [r for r in resolved_buckets if r > hits[0]]
                if resolved:
                    resolve_lags.append(resolved[0] - incident.end)
                if incident.qualifying:
                    delays.append(hits[0] - incident.start)
            elif incident.qualifying:
                missed.append(
                    f"{topic.name}:{incident.shape}x{incident.multiplier:g}+{incident.boost:g}"
                )
        for a in alert_buckets:
            alerts += 1
            if any(i.start <= a <= i.end + config.resolve_after_buckets for i in topic.incidents):
                true_alerts += 1
            else:
                false_alerts += 1
    elapsed = time.monotonic() - started
    print(f"topics x weeks: {topic_weeks}, alerts: {alerts}, false: {false_alerts}, {elapsed:.1f}s")
    print(
        f"qualifying incidents detected {detected[True]}/{incidents_by_kind[True]}, "
        f"others {detected[False]}/{incidents_by_kind[False]}; missed: {missed}"
    )
    result = {
        "precision": round(true_alerts / alerts, 4) if alerts else 1.0,
        "recall": round(detected[True] / max(incidents_by_kind[True], 1), 4),
        "recall_all_incidents": round(
            sum(detected.values()) / max(sum(incidents_by_kind.values()), 1), 4
        ),
        "median_delay_buckets": statistics.median(delays) if delays else None,
        "false_alerts_per_topic_week": round(false_alerts / topic_weeks, 4),
        "median_resolve_lag_buckets": statistics.median(resolve_lags) if resolve_lags else None,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
