"""``python -m benchmarks.alerts [--seed N] [--weeks N]``: both alert kinds on synthetic
traffic (``generator``), through the SeriesMonitor the bucket closer runs, with the service's
default settings.

Prints per-kind details and, as the last line, JSON with, for each kind, ``precision``,
``recall`` (qualifying incidents), ``median_delay_buckets`` and
``false_alerts_per_topic_week``, plus ``recall_all_incidents`` and
``median_resolve_lag_buckets`` (see ``scoring``).
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.alerts.generator import BUCKETS_PER_WEEK, generate_topics
from benchmarks.alerts.scoring import replay, score_kind
from services.alert.alerts import AlertKind
from services.alert.detection.series_monitor import SeriesMonitor
from services.alert.settings import AlertSettings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.alerts", description=__doc__)
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--weeks", type=int, default=3)
    args = parser.parse_args()

    started = time.monotonic()
    config = AlertSettings().monitor_config
    runs = [
        replay(topic.name, SeriesMonitor(config), topic.buckets, topic.incidents)
        for topic in generate_topics(seed=args.seed, weeks=args.weeks)
    ]
    elapsed = time.monotonic() - started
    print(f"topics: {len(runs)}, weeks: {args.weeks}, {elapsed:.1f}s")
    rules = {
        AlertKind.NEGATIVE_SHARE: config.negative_share_incidents,
        AlertKind.VOLUME: config.volume_incidents,
    }
    result: dict[str, object] = {}
    for kind, kind_rules in rules.items():
        figures, missed = score_kind(runs, kind, kind_rules.resolve_after_buckets, BUCKETS_PER_WEEK)
        print(f"{kind.value}: {figures['alerts']} alerts; missed qualifying: {missed}")
        result[kind.value] = figures
    print(json.dumps(result))


if __name__ == "__main__":
    main()
