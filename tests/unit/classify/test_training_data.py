from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.classify.datasets import (
    DatasetError,
    read_banking77_csv,
    read_tweeteval_pair,
)
from training.classify.fit import fit_temperature, stratified_split

from .conftest import DATA


def test_banking77_csv_reader_reads_the_test_file() -> None:
    data = read_banking77_csv(DATA / "bank_support.csv")
    assert len(data) == 30
    assert data.labels[0] == "card_arrival"
    assert data.texts[0].startswith("It has been two weeks")


def test_a_csv_without_the_banking77_header_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("sentence,label\nhello,card_arrival\n")
    with pytest.raises(DatasetError, match="text,category"):
        read_banking77_csv(path)


def test_tweeteval_labels_map_to_sentiment_names() -> None:
    data = read_tweeteval_pair(
        DATA / "support_sentiment_text.txt", DATA / "support_sentiment_labels.txt"
    )
    assert len(data) == 12
    assert {data.labels[0], data.labels[4], data.labels[8]} == {"negative", "neutral", "positive"}
    assert data.labels[:5] == ["negative"] * 4 + ["neutral"]


def test_tweeteval_lines_split_on_newline_only(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("one\u2028still one\ntwo\n", encoding="utf-8")
    (tmp_path / "l.txt").write_text("0\n2\n")
    data = read_tweeteval_pair(tmp_path / "t.txt", tmp_path / "l.txt")
    assert data.texts == ["one\u2028still one", "two"]


def test_tweeteval_files_of_different_length_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("one\ntwo\n")
    (tmp_path / "l.txt").write_text("0\n")
    with pytest.raises(DatasetError, match="lines"):
        read_tweeteval_pair(tmp_path / "t.txt", tmp_path / "l.txt")


def test_stratified_split_holds_out_every_class_and_is_reproducible() -> None:
    labels = ["a"] * 50 + ["b"] * 20 + ["c"] * 3
    kept, held = stratified_split(labels, 0.1, seed=1)
    assert sorted([*kept, *held]) == list(range(len(labels)))
    assert [labels[i] for i in held].count("a") == 5
    assert {labels[i] for i in held} == {"a", "b", "c"}
    again, _ = stratified_split(labels, 0.1, seed=1)
    assert kept.tolist() == again.tolist()


def test_fitted_temperature_recovers_the_temperature_that_generated_the_labels() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 3.0, size=(20_000, 5)).astype(np.float32)
    true_t = 2.5
    probs = np.exp(logits / true_t)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(5, p=p) for p in probs])
    assert fit_temperature(logits, labels) == pytest.approx(true_t, rel=0.05)
