"""``python -m benchmarks.alerts.e2e [--data DIR] [--split dev|report] [--seed N] [--repeats N]
[--weeks N]``: both alert kinds end to end, through the real classifier, so that its mistakes
count.

Messages are real labelled texts: a held-out Banking77 query of the topic (the classifier's
own evaluation rows, never trained on) followed by a TweetEval validation tweet (never trained
on either) whose label is the message's true sentiment. Per topic, the true traffic is the
synthetic generator's (daily cycle, incidents of both kinds, the same definitions of
qualifying); each true message is drawn from its topic's texts of its true sentiment.

Two splits share no text: ``report`` (the default, the figures docs/alerts.md carries) runs
six topics on the tweets at odd positions of the validation file; ``dev`` runs six other
topics, each a sibling of a report topic (same volume and negative share, a neighbouring
problem), on the tweets at even positions. Settings are chosen on ``dev`` (with seeds other
than the default) and reported once on ``report``.

Every text goes once through the classify engine the service runs
(`services.classify.main.build_engine`); each message then counts where the service would
count it (`TopicAttribution`, with the service's settings: the series of its predicted intent,
channel ``chat``, or none when the classifier is unsure of it), as negative when the
prediction is, and every series with messages is replayed through the SeriesMonitor the bucket
closer runs. A misrouted message lands in another topic's series; a missed negative dilutes a
spike; alerts on series that had no incident are false. One draw holds few incidents (about 15
qualifying ones of each kind), so its figures move a lot from seed to seed: ``--repeats N``
scores the series of N draws (seeds ``seed`` to ``seed + N - 1``) together. Prints the
classifier's accuracy on the texts, per-kind details and, as the last line, the same JSON as
``python -m benchmarks.alerts``. Texts are read from ``--data`` at run time and never written
anywhere.
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
from services.alert.detection.series_monitor import MonitorConfig, SeriesMonitor
from services.alert.detection.topic_attribution import TopicAttribution
from services.alert.settings import AlertSettings
from services.classify.main import build_engine
from services.classify.prediction import Prediction
from services.classify.settings import ClassifySettings
from training.classify.fit import stratified_split

# A topic with traffic: (intent, messages per minute on average, true negative share).
Topic = tuple[str, float, float]
TOPICS: tuple[Topic, ...] = (
    ("card_arrival", 5.0, 0.15),
    ("lost_or_stolen_card", 20.0, 0.3),
    ("declined_card_payment", 5.0, 0.3),
    ("transfer_not_received_by_recipient", 20.0, 0.15),
    ("pending_top_up", 5.0, 0.15),
    ("Refund_not_showing_up", 20.0, 0.3),  # spelled so in Banking77
)
# Each the sibling of the report topic in the same position.
DEV_TOPICS: tuple[Topic, ...] = (
    ("card_delivery_estimate", 5.0, 0.15),
    ("compromised_card", 20.0, 0.3),
    ("top_up_failed", 5.0, 0.3),
    ("balance_not_updated_after_bank_transfer", 20.0, 0.15),
    ("pending_card_payment", 5.0, 0.15),
    ("request_refund", 20.0, 0.3),
)
TWEETS_PER_QUERY = 6  # of each side (negative, not negative): the texts of a topic's pool
INTENT_EVAL_FRACTION, INTENT_EVAL_SEED = 0.1, 0  # the bundle's held-out Banking77 rows
NEGATIVE_LABEL = "0"  # TweetEval: 0 negative, 1 neutral, 2 positive


@dataclass(frozen=True)
class Split:
    """The topics and tweets one run draws on; the two splits share none."""

    topics: tuple[Topic, ...]
    tweet_parity: int  # the validation tweets at even (0) or odd (1) positions


SPLITS = {"report": Split(TOPICS, 1), "dev": Split(DEV_TOPICS, 0)}


@dataclass(frozen=True)
class CompositeText:
    topic: str
    negative: bool  # the tweet's true label
    text: str


@dataclass(frozen=True)
class Pool:
    """A topic's texts of one true sentiment, as the service counts them."""

    series: npt.NDArray[np.int64]  # index into the series counted; -1: counted in none
    predicted_negative: npt.NDArray[np.bool_]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.alerts.e2e", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--split", choices=sorted(SPLITS), default="report")
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="draws on seeds seed, seed+1, ...: their series are scored together",
    )
    parser.add_argument("--weeks", type=int, default=3)
    args = parser.parse_args()

    started = time.monotonic()
    split = SPLITS[args.split]
    settings = AlertSettings()
    draws = [
        _Draw.of(args.data, split, seed) for seed in range(args.seed, args.seed + args.repeats)
    ]
    texts = [text for draw in draws for text in draw.texts]
    predictions = classify(texts)
    print(describe_classifier(texts, predictions))
    runs: list[SeriesRun] = []
    for draw in draws:
        mine, predictions = predictions[: len(draw.texts)], predictions[len(draw.texts) :]
        series, pools = count_where_the_service_does(
            draw.texts, mine, split, settings.topic_attribution
        )
        runs += replay_traffic(
            split, series, pools, settings.monitor_config, draw.traffic_rng, args.weeks
        )
    print(
        f"{len(texts)} texts; {len(runs)} series replayed ({len(split.topics)} with traffic"
        f" per draw), {time.monotonic() - started:.1f}s in all"
    )
    topic_weeks = len(split.topics) * args.weeks * args.repeats
    print(json.dumps(score(runs, settings.monitor_config, topic_weeks)))


@dataclass(frozen=True)
class _Draw:
    """One seed's texts and the random stream of its traffic. Texts and traffic draw from
    streams of their own, so a change in what the texts are leaves the traffic as it was."""

    texts: list[CompositeText]
    traffic_rng: np.random.Generator

    @classmethod
    def of(cls, data: Path, split: Split, seed: int) -> _Draw:
        text_rng, traffic_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)
        )
        return cls(composite_texts(data, split, text_rng), traffic_rng)


def composite_texts(data: Path, split: Split, rng: np.random.Generator) -> list[CompositeText]:
    """Each held-out query of every topic, followed by tweets of either side."""
    with (data / "banking77" / "train.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    _, held_out = stratified_split(
        [row["category"] for row in rows], INTENT_EVAL_FRACTION, INTENT_EVAL_SEED
    )
    tweets_dir = data / "tweeteval_sentiment"
    tweets = (tweets_dir / "val_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (tweets_dir / "val_labels.txt").read_text(encoding="utf-8").split()
    ours = slice(split.tweet_parity, None, 2)
    by_side = {
        side: [
            t
            for t, label in zip(tweets[ours], labels[ours], strict=True)
            if (label == NEGATIVE_LABEL) == side
        ]
        for side in (True, False)
    }
    texts: list[CompositeText] = []
    for topic, _, _ in split.topics:
        queries = [rows[i]["text"] for i in held_out if rows[i]["category"] == topic]
        for query in queries:
            for side, side_tweets in by_side.items():
                for choice in rng.choice(len(side_tweets), TWEETS_PER_QUERY, replace=False):
                    texts.append(CompositeText(topic, side, f"{query} {side_tweets[choice]}"))
    return texts


def classify(texts: Sequence[CompositeText]) -> list[Prediction]:
    """Every text through the engine the service runs, once."""
    engine = build_engine(ClassifySettings())
    engine.start()
    try:
        return [
            prediction
            for start in range(0, len(texts), 256)
            for prediction in engine.classify([t.text for t in texts[start : start + 256]])
        ]
    finally:
        engine.close()


def describe_classifier(texts: Sequence[CompositeText], predictions: Sequence[Prediction]) -> str:
    pairs = list(zip(predictions, texts, strict=True))
    right_intent = sum(p.intent == t.topic for p, t in pairs)
    caught = sum(p.sentiment == "negative" and t.negative for p, t in pairs)
    flagged = sum(p.sentiment == "negative" for p in predictions)
    return (
        f"classifier on these texts: intent accuracy {right_intent / len(texts):.3f}, negative"
        f" recall {caught / sum(t.negative for t in texts):.3f}, negative precision"
        f" {caught / max(flagged, 1):.3f}"
    )


def count_where_the_service_does(
    texts: Sequence[CompositeText],
    predictions: Sequence[Prediction],
    split: Split,
    attribution: TopicAttribution,
) -> tuple[list[str], dict[tuple[str, bool], Pool]]:
    """The series counted in (the split's topics first) and each topic's pools by true side."""
    counted_in = [attribution.topic_of(p.intent, p.intent_confidence) for p in predictions]
    series = [topic for topic, _, _ in split.topics]
    series += sorted({s for s in counted_in if s is not None} - set(series))
    pools: dict[tuple[str, bool], Pool] = {}
    for topic, _, _ in split.topics:
        for side in (True, False):
            chosen = [
                (where, p)
                for where, p, t in zip(counted_in, predictions, texts, strict=True)
                if t.topic == topic and t.negative == side
            ]
            pools[topic, side] = Pool(
                np.array([-1 if w is None else series.index(w) for w, _ in chosen], np.int64),
                np.array([p.sentiment == "negative" for _, p in chosen], dtype=np.bool_),
            )
    return series, pools


def replay_traffic(
    split: Split,
    series: Sequence[str],
    pools: dict[tuple[str, bool], Pool],
    config: MonitorConfig,
    rng: np.random.Generator,
    weeks: int,
) -> list[SeriesRun]:
    """Every topic's true traffic, counted where the pools say, through a SeriesMonitor per
    series."""
    buckets = weeks * BUCKETS_PER_WEEK
    negative = np.zeros((len(series), buckets), dtype=np.int64)
    total = np.zeros((len(series), buckets), dtype=np.int64)
    incidents: dict[int, tuple[Incident, ...]] = {}
    for topic, mean_volume, ratio in split.topics:
        injected = schedule_incidents(rng, weeks, 6, ratio, mean_volume)
        incidents[series.index(topic)] = tuple(item.incident for item in injected)
        true_negative, true_other = true_counts(rng, weeks, mean_volume, ratio, injected)
        for counts, pool in (
            (true_negative, pools[topic, True]),
            (true_other, pools[topic, False]),
        ):
            _route(rng, counts, pool, negative, total)
    runs: list[SeriesRun] = []
    for index, name in enumerate(series):
        # Fewer messages than the smallest alert needs in one bucket can never alert.
        if total[index].sum() < config.negative_share.min_negatives:
            continue
        closed = (
            BucketCounts(START + timedelta(minutes=b), int(n), int(t))
            for b, (n, t) in enumerate(zip(negative[index], total[index], strict=True))
        )
        runs.append(replay(name, SeriesMonitor(config), closed, incidents.get(index, ())))
    return runs


def score(
    runs: Sequence[SeriesRun], config: MonitorConfig, topic_weeks: float
) -> dict[str, object]:
    """Each kind's figures, the missed qualifying incidents printed."""
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
    return result


def _route(
    rng: np.random.Generator,
    counts: npt.NDArray[np.int64],
    pool: Pool,
    negative: npt.NDArray[np.int64],
    total: npt.NDArray[np.int64],
) -> None:
    """Draw each true message from the pool and count it where the service would."""
    bucket = np.repeat(np.arange(len(counts)), counts)
    drawn = rng.integers(len(pool.series), size=len(bucket))
    series = pool.series[drawn]
    counted = series >= 0
    flagged = counted & pool.predicted_negative[drawn]
    np.add.at(total, (series[counted], bucket[counted]), 1)
    np.add.at(negative, (series[flagged], bucket[flagged]), 1)


if __name__ == "__main__":
    main()
