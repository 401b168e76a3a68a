from __future__ import annotations

import threading

import pytest
from threadpoolctl import threadpool_info

from services.classify.bundle import SENTIMENT_LABELS, EncoderMismatch, ModelBundle
from services.classify.engine import ClassificationEngine, EngineNotRunning
from services.classify.prediction import Prediction
from textencoder import SentenceEncoder

from .conftest import TEST_INTENTS


def test_engine_is_ready_only_after_start(bundle: ModelBundle, encoder: SentenceEncoder) -> None:
    engine = ClassificationEngine(bundle, encoder, max_batch=4)
    assert not engine.ready
    with pytest.raises(EngineNotRunning):
        engine.classify(["is anybody there?"])
    engine.start()
    try:
        assert engine.ready
    finally:
        engine.close()
    assert not engine.ready


def test_predictions_use_bundle_labels_and_calibrated_probabilities(
    engine: ClassificationEngine,
) -> None:
    (prediction,) = engine.classify(["My card never arrived in the post."])
    assert prediction.sentiment in SENTIMENT_LABELS
    assert prediction.intent in TEST_INTENTS
    assert 1 / 3 <= prediction.sentiment_confidence <= 1.0
    assert 1 / len(TEST_INTENTS) <= prediction.intent_confidence <= 1.0
    assert prediction.model_version == "test-v0"
    assert prediction.sentiment_attributions == prediction.intent_attributions == ()


def test_results_keep_input_order_and_equal_single_calls(engine: ClassificationEngine) -> None:
    texts = [
        "order a spare card for my partner please " * 6,
        "pin locked",
        "Why is there a fee on my statement that I do not recognise?",
    ]
    together = engine.classify(texts)
    engine2 = [engine.classify([t])[0] for t in texts]  # served from the cache
    assert together == engine2
    alone = [_fresh_single(engine, t) for t in texts]
    for a, b in zip(together, alone, strict=True):
        assert (a.sentiment, a.intent) == (b.sentiment, b.intent)
        assert a.intent_confidence == pytest.approx(b.intent_confidence, abs=1e-4)


def _fresh_single(engine: ClassificationEngine, text: str) -> Prediction:
    # A trailing space changes the cache key but not the tokens.
    return engine.classify([text + " "])[0]


def test_concurrent_callers_are_merged_into_one_micro_batch(
    bundle: ModelBundle, encoder: SentenceEncoder
) -> None:
    engine = ClassificationEngine(bundle, encoder, max_batch=16, max_wait_ms=400.0)
    engine.start()
    try:
        callers = 8
        barrier = threading.Barrier(callers)
        results: dict[int, list[Prediction]] = {}

        def call(i: int) -> None:
            barrier.wait()
            results[i] = engine.classify([f"caller {i} wants to know where transfer {i} is"])

        threads = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = engine.stats()
    finally:
        engine.close()
    assert len(results) == callers
    assert stats.texts_computed == callers
    assert stats.micro_batches == 1
    assert stats.forward_passes == callers  # on CPUs the int8 runs are one text each


def test_a_cached_text_is_not_recomputed(engine: ClassificationEngine) -> None:
    text = "Please close my account, I am moving abroad."
    first = engine.classify([text])
    before = engine.stats()
    again = engine.classify([text, text])
    after = engine.stats()
    assert again == first * 2
    assert after.texts_computed == before.texts_computed
    assert after.cache_hits == before.cache_hits + 2


def test_the_cache_forgets_the_least_recently_used_text(
    bundle: ModelBundle, encoder: SentenceEncoder
) -> None:
    engine = ClassificationEngine(bundle, encoder, max_batch=4, cache_size=2)
    engine.start()
    try:
        engine.classify(["first"])
        engine.classify(["second"])
        engine.classify(["first"])  # refresh: "second" is now the oldest
        engine.classify(["third"])
        computed = engine.stats().texts_computed
        engine.classify(["first"])
        engine.classify(["third"])
        assert engine.stats().texts_computed == computed
        engine.classify(["second"])
        assert engine.stats().texts_computed == computed + 1
    finally:
        engine.close()


def test_nothing_is_traced_after_warm_up(engine: ClassificationEngine) -> None:
    traced = engine.tracing_count()
    texts = ["ok", "my card is blocked " * 3, "transfer " * 80, "refund " * 300]
    engine.classify(texts)
    engine.classify(["again " + t for t in texts], explain=True)
    assert engine.tracing_count() == traced


def test_explanations_are_the_input_wordpieces_without_special_tokens(
    engine: ClassificationEngine, encoder: SentenceEncoder
) -> None:
    text = "Someone stole my wallet with my card inside"
    (prediction,) = engine.classify([text], explain=True)
    expected = [encoder.id_to_token(i) for i in encoder.token_ids([text])[0][1:-1]]
    for attributions in (prediction.sentiment_attributions, prediction.intent_attributions):
        assert [token for token, _ in attributions] == expected
        assert sum(abs(w) for _, w in attributions) == pytest.approx(1.0, abs=1e-4)


def test_explained_predictions_match_plain_ones_and_are_cached_for_both(
    engine: ClassificationEngine,
) -> None:
    text = "My PIN got blocked after three tries"
    (explained,) = engine.classify([text], explain=True)
    computed = engine.stats().texts_computed
    (plain,) = engine.classify([text])
    (explained_again,) = engine.classify([text], explain=True)
    assert engine.stats().texts_computed == computed
    assert (plain.sentiment, plain.intent) == (explained.sentiment, explained.intent)
    assert plain.intent_confidence == pytest.approx(explained.intent_confidence, abs=1e-4)
    assert explained_again == explained


def test_a_plain_cache_entry_is_recomputed_when_an_explanation_is_asked(
    engine: ClassificationEngine,
) -> None:
    text = "How do I change my PIN number?"
    engine.classify([text])
    (explained,) = engine.classify([text], explain=True)
    assert explained.intent_attributions


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_blas_runs_single_threaded_beside_the_int8_workers_until_close(
    bundle: ModelBundle, encoder: SentenceEncoder
) -> None:
    engine = ClassificationEngine(bundle, encoder, max_batch=4)
    before = _blas_threads()
    assert before, "numpy should have loaded a BLAS"
    engine.start()
    try:
        assert _blas_threads() == [1] * len(before)
    finally:
        engine.close()
    assert _blas_threads() == before


def test_close_rejects_new_requests(bundle: ModelBundle, encoder: SentenceEncoder) -> None:
    engine = ClassificationEngine(bundle, encoder, max_batch=4)
    engine.start()
    engine.close()
    with pytest.raises(EngineNotRunning):
        engine.classify(["anyone?"])


def test_empty_input_returns_no_predictions(engine: ClassificationEngine) -> None:
    assert engine.classify([]) == []


def test_engine_refuses_a_bundle_trained_on_another_encoder(
    bundle: ModelBundle, encoder: SentenceEncoder
) -> None:
    from dataclasses import replace

    other = replace(bundle, encoder_sha256="0" * 64)
    with pytest.raises(EncoderMismatch):
        ClassificationEngine(other, encoder)


def test_intent_candidates_are_the_most_likely_intents_best_first(
    engine: ClassificationEngine,
) -> None:
    (prediction,) = engine.classify(["my new card has not arrived yet"])

    intents = [intent for intent, _ in prediction.intent_candidates]
    confidences = [confidence for _, confidence in prediction.intent_candidates]
    assert intents[0] == prediction.intent
    assert confidences[0] == prediction.intent_confidence
    assert confidences == sorted(confidences, reverse=True)
    assert len(set(intents)) == len(intents) == min(5, len(TEST_INTENTS))
