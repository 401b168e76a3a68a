"""Smoke tests of the frozen-encoder training run and of the steps that add exemplars and
n-grams to its bundle, on tiny data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from services.classify.bundle import SENTIMENT_LABELS, load_bundle
from training.classify import add_exemplars, add_ngrams
from training.classify.fit import HeadTrainingConfig
from training.classify.train import TrainingConfig, run_training

INTENT_TEMPLATES = {
    "card_arrival": "my new card {} has still not arrived in the post",
    "change_pin": "how can I change the PIN {} of my card",
    "terminate_account": "please close my account {} for good",
}
SENTIMENT_TEMPLATES = (
    "this is awful and I am furious about it {}",
    "the branch opens at nine on weekday {}",
    "thank you so much, you were wonderful {}",
)


def write_tiny_datasets(root: Path) -> Path:
    banking = root / "banking77"
    banking.mkdir(parents=True)
    with (banking / "train.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "category"])
        for intent, template in INTENT_TEMPLATES.items():
            writer.writerows([template.format(i), intent] for i in range(20))
    tweets = root / "tweeteval_sentiment"
    tweets.mkdir()
    for split, count in (("train", 20), ("val", 5)):
        rows = [
            (t.format(i), label)
            for label, t in enumerate(SENTIMENT_TEMPLATES)
            for i in range(count)
        ]
        (tweets / f"{split}_text.txt").write_text("\n".join(t for t, _ in rows) + "\n")
        (tweets / f"{split}_labels.txt").write_text("\n".join(str(y) for _, y in rows) + "\n")
    return root


def train_tiny(tmp_path: Path, sentiment_train_size: int = 0) -> Path:
    quick = HeadTrainingConfig(max_epochs=30)
    return run_training(
        TrainingConfig(
            data_dir=write_tiny_datasets(tmp_path / "data"),
            output_dir=tmp_path / "bundle",
            version="smoke",
            cache_dir=tmp_path / "cache",
            command="pytest",
            sentiment_train_size=sentiment_train_size,
            intent_head=quick,
            sentiment_head=quick,
        )
    )


def test_frozen_training_writes_a_loadable_bundle_scored_on_held_out_data(tmp_path: Path) -> None:
    out = train_tiny(tmp_path)

    bundle = load_bundle(out)
    assert bundle.version == "smoke"
    assert set(bundle.intent.labels) == set(INTENT_TEMPLATES)
    assert bundle.sentiment.labels == SENTIMENT_LABELS
    metrics = json.loads((out / "metrics.json").read_text())
    # 10% of each intent held out (2 of 20), never trained on, and written for eval-intent.
    assert metrics["intent"]["evaluation"]["n"] == 6
    assert metrics["intent"]["evaluation"]["accuracy"] == 1.0
    assert metrics["sentiment"]["evaluation"]["n"] == 15  # the official-validation stand-in
    heldout = (tmp_path / "cache" / "eval" / "banking77_heldout.csv").read_text().splitlines()
    assert len(heldout) == 1 + 6
    assert metrics["intent"]["dev"]["n"] == 6 and metrics["intent"]["dev_size"] == 6
    assert "pytest" in (out / "MODEL_CARD.md").read_text()


def step_args(tmp_path: Path, bundle: Path, version: str, *extra: str) -> list[str]:
    """Command line of a post-training step writing `tmp_path / version`."""
    return [
        *("--bundle", str(bundle), "--data-dir", str(tmp_path / "data")),
        *("--version", version, "--output", str(tmp_path / version)),
        *("--cache-dir", str(tmp_path / "cache")),
        *extra,
    ]


def test_ngrams_are_chosen_on_the_tweets_the_bundle_never_saw(tmp_path: Path) -> None:
    out = train_tiny(tmp_path, sentiment_train_size=30)  # of 60 training tweets
    add_ngrams.main(step_args(tmp_path, out, "with-ngrams"))

    target = tmp_path / "with-ngrams"
    bundle = load_bundle(target)
    assert bundle.version == "with-ngrams"
    assert bundle.sentiment.ngrams is not None
    metrics = json.loads((target / "metrics.json").read_text())
    assert metrics["sentiment_ngrams"]["chosen_on"] == "unseen"
    assert metrics["sentiment_ngrams"]["selection_size"] == 30
    assert metrics["sentiment_ngrams"]["tweets"] == 60
    assert metrics["sentiment"]["evaluation"]["n"] == 15
    assert "Sentiment n-grams" in (target / "MODEL_CARD.md").read_text()


def test_a_bundle_fitted_on_every_tweet_chooses_its_ngram_blend_on_its_dev_tweets(
    tmp_path: Path,
) -> None:
    out = train_tiny(tmp_path)
    add_exemplars.main(step_args(tmp_path, out, "intent-memory", "--tasks", "intent"))
    memory = load_bundle(tmp_path / "intent-memory")
    assert memory.intent.exemplars is not None
    assert memory.sentiment.exemplars is None

    add_ngrams.main(step_args(tmp_path, tmp_path / "intent-memory", "with-ngrams"))

    metrics = json.loads((tmp_path / "with-ngrams" / "metrics.json").read_text())
    assert metrics["sentiment_ngrams"]["chosen_on"] == "dev"
    assert metrics["sentiment_ngrams"]["selection_size"] == 6  # 10% of the 60 training tweets
    assert metrics["sentiment_ngrams"]["tweets"] == 60
    card = (tmp_path / "with-ngrams" / "MODEL_CARD.md").read_text()
    assert "dev tweets of the encoder" in card
    assert "| encoder (head) |" in card  # no sentiment memory to credit
    # The last stage ends the card with every step's dev and once-reported figures.
    side_by_side = card[card.index("## Dev, held-out, validation and test side by side") :]
    assert "| + exemplar votes | dev, votes from train only:" in side_by_side
    assert "| + n-grams | dev (n=6), out of fold:" in side_by_side
    assert side_by_side.count("| served | — |") == 2


def test_ngrams_are_refused_when_every_tweet_is_inside_the_encoder_or_a_memory(
    tmp_path: Path,
) -> None:
    out = train_tiny(tmp_path)
    add_exemplars.main(step_args(tmp_path, out, "both-memories"))
    assert load_bundle(tmp_path / "both-memories").sentiment.exemplars is not None

    with pytest.raises(SystemExit, match="exemplars hold its dev tweets"):
        add_ngrams.main(step_args(tmp_path, tmp_path / "both-memories", "x"))
