"""The sentiment n-gram model: features, training in TensorFlow, storage, serving."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from services.classify.bundle import BundleError, ModelBundle, load_bundle, save_bundle
from services.classify.engine import ClassificationEngine
from services.classify.ngrams import NgramFeaturizer, NgramModel, NgramModelError
from services.classify.pipeline import PipelineError
from textencoder import SentenceEncoder
from training.classify.ngrams import (
    NgramTrainingConfig,
    count_rows,
    fit_ngram_model,
    out_of_fold_logits,
)

SMALL = NgramFeaturizer(bits=10)
QUICK = NgramTrainingConfig(bits=10, epochs=30, batch_size=16, learning_rate=0.05, c=10.0)
NEGATIVE = ["awful service", "this is awful", "so awful today", "awful awful app", "truly awful"]
POSITIVE = ["great service", "this is great", "so great today", "great great app", "truly great"]


@pytest.fixture(scope="module")
def trained() -> NgramModel:
    texts = NEGATIVE + POSITIVE
    labels = np.array([0] * len(NEGATIVE) + [1] * len(POSITIVE))
    return fit_ngram_model(SMALL, count_rows(SMALL, texts), labels, 2, QUICK)


def test_features_are_deterministic_and_split_into_a_word_and_a_character_bank() -> None:
    rows = SMALL.count_rows(["Great GREAT app :(", "great great app :(", "", "ok"])
    assert list(np.diff(rows.indptr))[2] == 0  # nothing in an empty text
    first, second = (rows.ids[rows.indptr[i] : rows.indptr[i + 1]] for i in (0, 1))
    np.testing.assert_array_equal(first, second)  # case-folded
    assert np.all(np.diff(first) > 0)
    assert np.any(first < 1 << 10) and np.any(first >= 1 << 10) and first.max() < SMALL.size
    assert rows.counts[: rows.indptr[1]].max() >= 2  # "great" twice


def test_a_text_counts_the_same_alone_and_in_any_batch() -> None:
    texts = ["so great today", "", "awful, truly awful", "x", "lone \ud800 surrogate"]
    batch = SMALL.count_rows(texts)
    for row, text in enumerate(texts):
        alone = SMALL.count_rows([text])
        span = slice(batch.indptr[row], batch.indptr[row + 1])
        np.testing.assert_array_equal(batch.ids[span], alone.ids)
        np.testing.assert_array_equal(batch.counts[span], alone.counts)


def test_grams_of_a_token_never_include_its_neighbour() -> None:
    # "ab cd" and "abcd" share no 3-byte gram that spans the space-separated tokens.
    rows = SMALL.count_rows(["ab cd"])
    char_grams = int(np.sum(rows.counts[rows.ids >= 1 << 10]))
    # " ab " and " cd ": 3 + 2 + 1 grams of sizes 2, 3, 4 each, none of size 5.
    assert char_grams == 12


def test_each_bank_of_weighted_features_has_unit_length() -> None:
    rows = SMALL.count_rows(["so great today, great app", "ok then"])
    values = SMALL.weighted(rows, np.ones(SMALL.size, np.float32))
    for row in range(2):
        span = slice(rows.indptr[row], rows.indptr[row + 1])
        ids, row_values = rows.ids[span], values[span]
        for in_bank in (ids < 1 << 10, ids >= 1 << 10):
            assert np.sum(row_values[in_bank] ** 2) == pytest.approx(1.0, rel=1e-5)


def test_trained_model_learns_the_words_that_carry_the_label(trained: NgramModel) -> None:
    probabilities = trained.probabilities(["what an awful day", "what a great day", ""])
    assert list(probabilities[:2].argmax(axis=1)) == [0, 1]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_rows_taken_out_of_order_keep_their_counts() -> None:
    texts = ["so great today", "", "awful, truly awful", "x"]
    rows = SMALL.count_rows(texts)
    taken = rows.take(np.array([2, 0, 1]))
    again = SMALL.count_rows([texts[2], texts[0], texts[1]])
    np.testing.assert_array_equal(taken.indptr, again.indptr)
    np.testing.assert_array_equal(taken.ids, again.ids)
    np.testing.assert_array_equal(taken.counts, again.counts)


def test_model_round_trips_through_int8_storage(trained: NgramModel, tmp_path: Path) -> None:
    model = replace(trained, temperature=1.5)
    model.save(tmp_path / "ngrams.safetensors")
    loaded = NgramModel.load(tmp_path / "ngrams.safetensors", temperature=1.5)
    assert (loaded.featurizer, loaded.temperature) == (SMALL, 1.5)
    texts = NEGATIVE + POSITIVE
    np.testing.assert_allclose(loaded.probabilities(texts), model.probabilities(texts), atol=0.01)
    np.testing.assert_array_equal(loaded.weights, model.stored().weights)
    float32_bytes = model.weights.nbytes + model.idf.nbytes
    assert (tmp_path / "ngrams.safetensors").stat().st_size < float32_bytes / 2.5


def test_inconsistent_models_are_refused(trained: NgramModel, tmp_path: Path) -> None:
    with pytest.raises(NgramModelError, match="buckets"):
        replace(trained, idf=trained.idf[:-1])
    with pytest.raises(NgramModelError, match="temperature"):
        replace(trained, temperature=0.0)
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    with pytest.raises(NgramModelError, match="unreadable"):
        NgramModel.load(tmp_path / "bad.safetensors", temperature=1.0)


def test_out_of_fold_logits_never_come_from_a_model_that_saw_the_row() -> None:
    # Each text is one made-up word with a random label: only memorising the row itself could
    # predict it, so out-of-fold accuracy stays near chance while in-sample is perfect.
    rng = np.random.default_rng(0)
    texts = [f"zq{i}x{rng.integers(1_000_000)}" for i in range(120)]
    labels = rng.integers(0, 2, size=120)
    rows = count_rows(SMALL, texts)
    selection = np.arange(60, 120)
    held_out = out_of_fold_logits(SMALL, rows, labels, 2, selection, QUICK)
    in_sample = fit_ngram_model(SMALL, rows, labels, 2, QUICK).logits(rows)[selection]
    assert np.mean(in_sample.argmax(axis=1) == labels[selection]) > 0.95
    assert np.mean(held_out.argmax(axis=1) == labels[selection]) < 0.75


def test_bundle_serves_the_ngram_blend_and_checks_its_file(
    bundle: ModelBundle, trained: NgramModel, tmp_path: Path
) -> None:
    three_labels = fit_ngram_model(
        SMALL, count_rows(SMALL, ["a b", "c d", "e f"]), np.arange(3), 3, QUICK
    )

    def saved(name: str, ngrams: NgramModel) -> Path:
        return save_bundle(
            tmp_path / name,
            version="test-ngrams",
            encoder_name=bundle.encoder_name,
            encoder_sha256=bundle.encoder_sha256,
            sentiment=bundle.sentiment.with_component(1.0, ngrams),
            intent=bundle.intent,
        )

    path = saved("with-ngrams", three_labels)
    loaded = load_bundle(path)
    assert loaded.sentiment.ngrams is not None
    vectors = np.random.default_rng(2).normal(size=(2, 384)).astype(np.float32)
    texts = ["a b", "e f"]
    blended = loaded.sentiment.probabilities(vectors, texts)
    np.testing.assert_allclose(blended, loaded.sentiment.ngrams.probabilities(texts), atol=1e-6)

    (path / "sentiment_ngrams.safetensors").write_bytes(b"tampered")
    with pytest.raises(BundleError, match="checksum"):
        load_bundle(path)
    (path / "sentiment_ngrams.safetensors").unlink()
    with pytest.raises(BundleError, match="missing"):
        load_bundle(path)
    with pytest.raises(PipelineError, match="labels"):
        bundle.sentiment.with_component(0.5, trained)  # trained on negative/positive only


def test_engine_blends_ngrams_into_plain_and_explained_sentiment(
    bundle: ModelBundle, encoder: SentenceEncoder
) -> None:
    neutral = ["opens at nine", "the branch opens", "opens on monday", "it opens", "opens now"]
    texts = NEGATIVE + neutral + POSITIVE
    sentiment_only = fit_ngram_model(
        SMALL, count_rows(SMALL, texts), np.repeat(np.arange(3), 5), 3, QUICK
    )
    engine = ClassificationEngine(
        replace(bundle, sentiment=bundle.sentiment.with_component(1.0, sentiment_only)),
        encoder,
        max_batch=4,
    )
    engine.start()
    try:
        queries = ["an awful day", "great news", "the branch opens"]
        plain = engine.classify(queries)
        explained = engine.classify([f"{q}!" for q in queries], explain=True)
    finally:
        engine.close()
    assert [p.sentiment for p in plain] == ["negative", "positive", "neutral"]
    assert [p.sentiment for p in explained] == ["negative", "positive", "neutral"]
