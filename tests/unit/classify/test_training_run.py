"""Smoke test of the frozen-encoder training run (`make train --method frozen`) on tiny data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from services.classify.bundle import SENTIMENT_LABELS, load_bundle
from services.classify.training.fit import HeadTrainingConfig
from services.classify.training.train import TrainingConfig, run_training

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


def test_frozen_training_writes_a_loadable_bundle_scored_on_held_out_data(tmp_path: Path) -> None:
    quick = HeadTrainingConfig(max_epochs=30)
    out = run_training(
        TrainingConfig(
            data_dir=write_tiny_datasets(tmp_path / "data"),
            output_dir=tmp_path / "bundle",
            version="smoke",
            cache_dir=tmp_path / "cache",
            command="pytest",
            intent_head=quick,
            sentiment_head=quick,
        )
    )

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
    assert "pytest" in (out / "MODEL_CARD.md").read_text()
