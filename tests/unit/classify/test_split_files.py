"""The pipeline writes its dev splits: disjoint from training and held-out rows, and the same
rows for the same seed."""

from __future__ import annotations

import csv
from pathlib import Path

from training.classify.datasets import read_banking77_csv, read_tweeteval_pair
from training.classify.train import Splits, TrainingConfig, load_splits

INTENTS = ("card_arrival", "change_pin", "terminate_account")


def write_datasets(root: Path) -> Path:
    banking = root / "banking77"
    banking.mkdir(parents=True)
    with (banking / "train.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "category"])
        writer.writerows([f"{intent} message {i}", intent] for intent in INTENTS for i in range(30))
    tweets = root / "tweeteval_sentiment"
    tweets.mkdir()
    for split, count in (("train", 40), ("val", 5)):
        rows = [(f"{split} tweet {label} {i}", label) for label in range(3) for i in range(count)]
        (tweets / f"{split}_text.txt").write_text("".join(f"{t}\n" for t, _ in rows))
        (tweets / f"{split}_labels.txt").write_text("".join(f"{y}\n" for _, y in rows))
    return root


def splits_of(data_dir: Path, cache_dir: Path, seed: int = 0, tweets: int = 0) -> Splits:
    return load_splits(
        TrainingConfig(
            data_dir=data_dir,
            output_dir=cache_dir / "unused",
            version="test",
            cache_dir=cache_dir,
            command="pytest",
            sentiment_train_size=tweets,
            seed=seed,
        )
    )


def test_dev_splits_are_written_as_the_rows_that_chose(tmp_path: Path) -> None:
    splits = splits_of(write_datasets(tmp_path / "data"), tmp_path / "cache")

    files = splits.dev_files
    assert files.intent_csv == tmp_path / "cache" / "eval" / "banking77_dev.csv"
    assert files.intent_csv.parent == splits.heldout_csv.parent
    assert read_banking77_csv(files.intent_csv) == splits.intent_dev
    tweets = read_tweeteval_pair(files.sentiment_text, files.sentiment_labels)
    assert tweets == splits.sentiment_dev
    assert len(splits.intent_dev) == 9 and len(splits.sentiment_dev) == 12  # 10% of each class


def test_train_dev_and_held_out_rows_are_disjoint_and_cover_the_data(tmp_path: Path) -> None:
    splits = splits_of(write_datasets(tmp_path / "data"), tmp_path / "cache", tweets=90)

    intent = [splits.intent_train, splits.intent_dev, splits.intent_eval]
    intent_texts = [set(part.texts) for part in intent]
    assert sum(len(t) for t in intent_texts) == len(set().union(*intent_texts)) == 90
    tweets = [splits.sentiment_train, splits.sentiment_dev, splits.sentiment_unseen]
    tweet_texts = [set(part.texts) for part in tweets]
    assert sum(len(t) for t in tweet_texts) == len(set().union(*tweet_texts)) == 120
    assert len(splits.sentiment_unseen) == 30  # outside the 90 tweets fitted on
    official = set(splits.sentiment_eval.texts)
    assert not official & set().union(*tweet_texts)


def test_the_same_seed_writes_the_same_dev_rows_and_another_seed_others(tmp_path: Path) -> None:
    data = write_datasets(tmp_path / "data")
    first = splits_of(data, tmp_path / "a").dev_files
    again = splits_of(data, tmp_path / "b").dev_files
    other = splits_of(data, tmp_path / "c", seed=1).dev_files

    for path in ("intent_csv", "sentiment_text", "sentiment_labels"):
        assert getattr(first, path).read_bytes() == getattr(again, path).read_bytes()
    assert first.intent_csv.read_bytes() != other.intent_csv.read_bytes()
    assert first.sentiment_text.read_bytes() != other.sentiment_text.read_bytes()
