"""``python -m benchmarks.alerts.e2e [--data DIR] [--seed N] [--weeks N]``: both alert kinds end
to end, through the real classifier, so that its mistakes count.

Messages are real labelled texts: a held-out Banking77 query of the topic (the classifier's
own evaluation rows, never trained on) followed by a TweetEval validation tweet (never trained
on either) whose label is the message's true sentiment. Per topic, the true traffic is the
synthetic generator's (daily cycle, incidents of both kinds, the same definitions of
qualifying); each true message is drawn from its topic's texts of its true sentiment.

Every text goes once through the classify engine the service runs
(`services.classify.main.build_engine`); each message then counts in the series of its
*predicted* intent (channel ``chat``), as negative when the prediction is, and every series
with messages is replayed through the SeriesMonitor the bucket closer runs. A misrouted
message lands in another topic's series; a missed negative dilutes a spike; alerts on series
that had no incident are false. Prints the classifier's accuracy on the texts, per-kind
details and, as the last line, the same JSON as ``python -m benchmarks.alerts``. Texts are
read from ``--data`` at run time and never written anywhere.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from benchmarks.alerts.generator import (
    BUCKETS_PER_WEEK,
    START,
    schedule_incidents,
    true_counts,
)
from benchmarks.alerts.scoring import Incident, SeriesRun, replay, score_kind
from services.alert.alerts import AlertKind
from services.alert.detection.counts import BucketCounts
from services.alert.detection.series_monitor import SeriesMonitor
from services.alert.settings import AlertSettings
from services.classify.main import build_engine
from services.classify.settings import ClassifySettings
from training.classify.fit import stratified_split

# Topics with traffic, each (intent, messages per minute on average, true negative share).
TOPICS = (
    ("card_arrival", 5.0, 0.15),
    ("lost_or_stolen_card", 20.0, 0.3),
    ("declined_card_payment", 5.0, 0.3),
    ("transfer_not_received_by_recipient", 20.0, 0.15),
    ("pending_top_up", 5.0, 0.15),
    ("Refund_not_showing_up", 20.0, 0.3),  # spelled so in Banking77
)
TWEETS_PER_QUERY = 6  # of each side (negative, not negative): the texts of a topic's pool
INTENT_EVAL_FRACTION, INTENT_EVAL_SEED = 0.1, 0  # the bundle's held-out Banking77 rows
NEGATIVE_LABEL = "0"  # TweetEval: 0 negative, 1 neutral, 2 positive


@dataclass(frozen=True)
class Pool:
    """A topic's texts of one true sentiment, as the classifier saw them."""

    predicted_intent: npt.NDArray[np.int64]  # index into the intents seen
    predicted_negative: npt.NDArray[np.bool_]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.alerts.e2e", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--weeks", type=int, default=3)
    args = parser.parse_args()

    started = time.monotonic()
    rng = np.random.default_rng(args.seed)
    texts = _composite_texts(args.data, rng)
    intents, pools = _classify(texts)
    classified = time.monotonic() - started

    config = AlertSettings().monitor_config
    buckets = args.weeks * BUCKETS_PER_WEEK
    negative = np.zeros((len(intents), buckets), dtype=np.int64)
    total = np.zeros((len(intents), buckets), dtype=np.int64)
    incidents: dict[int, tuple[Incident, ...]] = {}
    for topic, mean_volume, ratio in TOPICS:
        injected = schedule_incidents(rng, args.weeks, 6, ratio, mean_volume)
        incidents[intents.index(topic)] = tuple(item.incident for item in injected)
        true_negative, true_other = true_counts(rng, args.weeks, mean_volume, ratio, injected)
        for counts, pool in (
            (true_negative, pools[topic, True]),
            (true_other, pools[topic, False]),
        ):
            _route(rng, counts, pool, negative, total)
    runs: list[SeriesRun] = []
    for index, intent in enumerate(intents):
        # Fewer messages than the smallest alert needs in one bucket can never alert.
        if total[index].sum() < config.negative_share.min_negatives:
            continue
        series = (
            BucketCounts(START + timedelta(minutes=b), int(n), int(t))
            for b, (n, t) in enumerate(zip(negative[index], total[index], strict=True))
        )
        runs.append(replay(intent, SeriesMonitor(config), series, incidents.get(index, ())))
    print(
        f"classified {len(texts)} texts in {classified:.1f}s; {len(runs)} series replayed"
        f" ({len(TOPICS)} with traffic), {time.monotonic() - started:.1f}s in all"
    )
    topic_weeks = len(TOPICS) * args.weeks
    rules = {
        AlertKind.NEGATIVE_SHARE: config.negative_share_incidents,
        AlertKind.VOLUME: config.volume_incidents,
    }
    result: dict[str, object] = {}
    for kind, kind_rules in rules.items():
        figures, missed = score_kind(
            runs, kind, kind_rules.resolve_after_buckets, BUCKETS_PER_WEEK, topic_weeks
        )
        print(f"{kind.value}: {figures['alerts']} alerts; missed qualifying: {missed}")
        result[kind.value] = figures
    print(json.dumps(result))


@dataclass(frozen=True)
class CompositeText:
    topic: str
    negative: bool  # the tweet's true label
    text: str


def _composite_texts(data: Path, rng: np.random.Generator) -> list[CompositeText]:
    """Each held-out query of every topic, followed by tweets of either side."""
    with (data / "banking77" / "train.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    _, held_out = stratified_split(
        [row["category"] for row in rows], INTENT_EVAL_FRACTION, INTENT_EVAL_SEED
    )
    tweets_dir = data / "tweeteval_sentiment"
    tweets = (tweets_dir / "val_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (tweets_dir / "val_labels.txt").read_text(encoding="utf-8").split()
    by_side = {
        side: [
            t for t, label in zip(tweets, labels, strict=True) if (label == NEGATIVE_LABEL) == side
        ]
        for side in (True, False)
    }
    texts: list[CompositeText] = []
    for topic, _, _ in TOPICS:
        queries = [rows[i]["text"] for i in held_out if rows[i]["category"] == topic]
        for query in queries:
            for side, side_tweets in by_side.items():
                for choice in rng.choice(len(side_tweets), TWEETS_PER_QUERY, replace=False):
                    texts.append(CompositeText(topic, side, f"{query} {side_tweets[choice]}"))
    return texts


def _classify(
    texts: Sequence[CompositeText],
) -> tuple[list[str], dict[tuple[str, bool], Pool]]:
    """Every text through the engine once; the intents seen (benchmark topics first) and each
    topic's pools of predictions by true side."""
    engine = build_engine(ClassifySettings())
    engine.start()
    try:
        predictions = [
            prediction
            for start in range(0, len(texts), 256)
            for prediction in engine.classify([t.text for t in texts[start : start + 256]])
        ]
    finally:
        engine.close()
    intents = [topic for topic, _, _ in TOPICS]
    intents += sorted({p.intent for p in predictions} - set(intents))
    right_intent = sum(p.intent == t.topic for p, t in zip(predictions, texts, strict=True))
    caught = sum(
        p.sentiment == "negative" and t.negative for p, t in zip(predictions, texts, strict=True)
    )
    flagged = sum(p.sentiment == "negative" for p in predictions)
    print(
        f"classifier on these texts: intent accuracy {right_intent / len(texts):.3f}, negative"
        f" recall {caught / sum(t.negative for t in texts):.3f}, negative precision"
        f" {caught / max(flagged, 1):.3f}"
    )
    pools: dict[tuple[str, bool], Pool] = {}
    for topic, _, _ in TOPICS:
        for side in (True, False):
            chosen = [
                p
                for p, t in zip(predictions, texts, strict=True)
                if t.topic == topic and t.negative == side
            ]
            pools[topic, side] = Pool(
                np.array([intents.index(p.intent) for p in chosen], dtype=np.int64),
                np.array([p.sentiment == "negative" for p in chosen], dtype=np.bool_),
            )
    return intents, pools


def _route(
    rng: np.random.Generator,
    counts: npt.NDArray[np.int64],
    pool: Pool,
    negative: npt.NDArray[np.int64],
    total: npt.NDArray[np.int64],
) -> None:
    """Draw each true message from the pool and count it where the classifier put it."""
    bucket = np.repeat(np.arange(len(counts)), counts)
    drawn = rng.integers(len(pool.predicted_intent), size=len(bucket))
    series = pool.predicted_intent[drawn]
    np.add.at(total, (series, bucket), 1)
    flagged = pool.predicted_negative[drawn]
    np.add.at(negative, (series[flagged], bucket[flagged]), 1)


if __name__ == "__main__":
    main()
