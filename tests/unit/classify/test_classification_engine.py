from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator

import pytest
from pydantic import ValidationError
from threadpoolctl import threadpool_info, threadpool_limits

from services.classify.batcher import BatcherNotRunning, BatcherOverloaded, DeadlineExpired
from services.classify.bundle import SENTIMENT_LABELS, EncoderMismatch, ModelBundle, load_bundle
from services.classify.engine import ClassificationEngine
from services.classify.prediction import Prediction
from services.classify.settings import ClassifySettings
from textencoder import SentenceEncoder

from .conftest import COMMITTED_BUNDLE, TEST_INTENTS, engine_under_load


def test_engine_is_ready_only_after_start(bundle: ModelBundle, encoder: SentenceEncoder) -> None:
    engine = ClassificationEngine(bundle, encoder, max_batch=4)
    assert not engine.ready
    with pytest.raises(BatcherNotRunning):
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


def test_callers_queued_while_the_engine_is_busy_are_merged_into_one_micro_batch(
    bundle: ModelBundle, encoder: SentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = ClassificationEngine(bundle, encoder, max_batch=16, max_wait_ms=400.0)
    engine.start()
    callers = 8
    results: dict[int, list[Prediction]] = {}

    def call(i: int) -> None:
        results[i] = engine.classify([f"caller {i} wants to know where transfer {i} is"])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
    try:
        with engine_under_load(engine, monkeypatch, queued_texts=callers):
            for t in threads:
                t.start()
        for t in threads:
            t.join()
        stats = engine.stats()
    finally:
        engine.close()
    assert len(results) == callers
    assert stats.texts_computed == callers + 1
    assert stats.micro_batches == 2  # the busy one, then every queued caller together


def test_an_idle_engine_answers_a_lone_caller_without_waiting_for_company(
    bundle: ModelBundle, encoder: SentenceEncoder
) -> None:
    engine = ClassificationEngine(bundle, encoder, max_wait_ms=5_000.0)
    engine.start()
    try:
        started = time.monotonic()
        engine.classify(["Where is my new card?"])
        elapsed_s = time.monotonic() - started
    finally:
        engine.close()
    assert elapsed_s < 2.5  # waiting for company would have taken the full 5 s


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
    with pytest.raises(BatcherNotRunning):
        engine.classify(["anyone?"])


def test_callers_with_a_deadline_are_refused_beyond_the_queue_bound_and_others_wait(
    bundle: ModelBundle, encoder: SentenceEncoder
) -> None:
    engine = ClassificationEngine(bundle, encoder, max_batch=4, max_queued_texts=2)
    engine.start()
    try:
        texts = ["bound one", "bound two", "bound three"]
        with pytest.raises(BatcherOverloaded):
            engine.classify(texts, deadline=time.monotonic() + 30)
        # The Kafka consumer passes no deadline: it queues, and Kafka holds the rest.
        assert len(engine.classify(texts)) == 3
    finally:
        engine.close()


def test_texts_whose_caller_stopped_waiting_are_not_computed(
    engine: ClassificationEngine,
) -> None:
    before = engine.stats().texts_computed

    with pytest.raises(DeadlineExpired):
        engine.classify(["nobody waits for this"], explain=True, deadline=time.monotonic() - 1)

    assert engine.stats().texts_computed == before
    # The same text for a caller still waiting is computed as usual.
    assert len(engine.classify(["nobody waits for this"], deadline=time.monotonic() + 30)) == 1


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


# -- the float path (what GPUs serve), run on this CPU ---------------------------------------


@pytest.fixture(scope="module")
def served_bundle() -> ModelBundle:
    """The committed bundle: trained heads, so clear texts get clear labels."""
    return load_bundle(COMMITTED_BUNDLE)


@pytest.fixture(scope="module")
def served_encoder() -> SentenceEncoder:
    """A fresh encoder, since the engines merge the committed bundle's adapters into it."""
    return SentenceEncoder()


@pytest.fixture(scope="module")
def float_engine(
    served_bundle: ModelBundle, served_encoder: SentenceEncoder
) -> Iterator[ClassificationEngine]:
    engine = ClassificationEngine(served_bundle, served_encoder, max_batch=8, forward="float")
    engine.start()
    yield engine
    engine.close()


# Token lengths 3, 4, 13, 38, 82 and 128 (truncated): one pass pads them all to 128.
VARIED_LENGTHS = [
    "ok",
    "thanks!",
    "My card has not arrived yet, where is it?",
    "Why was I charged a fee when I took cash out of an ATM abroad last week? " * 2,
    "transfer " * 80,
    "refund " * 300,
]


def test_auto_forward_is_int8_on_cpus_and_float_on_gpus(
    bundle: ModelBundle, encoder: SentenceEncoder
) -> None:
    gpu_encoder = copy.copy(encoder)
    gpu_encoder.device = "/GPU:0"
    assert ClassificationEngine(bundle, encoder).forward_path == "int8"
    assert ClassificationEngine(bundle, gpu_encoder).forward_path == "float"
    assert ClassificationEngine(bundle, encoder, forward="float").forward_path == "float"
    with pytest.raises(ValueError, match="CPU provider only"):
        ClassificationEngine(bundle, gpu_encoder, forward="int8")


def test_a_bad_classify_forward_setting_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLASSIFY_FORWARD", "float")
    assert ClassifySettings().forward == "float"
    monkeypatch.setenv("CLASSIFY_FORWARD", "gpu")
    with pytest.raises(ValidationError, match="forward"):
        ClassifySettings()


def test_float_path_pads_a_micro_batch_without_changing_any_texts_result(
    float_engine: ClassificationEngine,
) -> None:
    together = float_engine.classify(VARIED_LENGTHS)
    alone = [_fresh_single(float_engine, text) for text in VARIED_LENGTHS]
    for a, b in zip(together, alone, strict=True):
        assert (a.sentiment, a.intent) == (b.sentiment, b.intent)
        # Measured: at most 3e-7 apart (padding is masked out of attention and pooling).
        assert a.sentiment_confidence == pytest.approx(b.sentiment_confidence, abs=1e-5)
        assert [c for c, _ in a.intent_candidates] == [c for c, _ in b.intent_candidates]
        assert [p for _, p in a.intent_candidates] == pytest.approx(
            [p for _, p in b.intent_candidates], abs=1e-5
        )


def test_float_path_runs_batched_passes_and_never_retraces_after_warm_up(
    float_engine: ClassificationEngine,
) -> None:
    traced, before = float_engine.tracing_count(), float_engine.stats()
    float_engine.classify([f"batched {t}" for t in VARIED_LENGTHS])  # one pass of 6 rows
    float_engine.classify([f"again {i}: " + "where is my card " * i for i in range(11)])  # 8 + 3
    after = float_engine.stats()
    assert after.texts_computed - before.texts_computed == 17
    assert after.micro_batches - before.micro_batches == 2
    assert after.forward_passes - before.forward_passes == 3
    assert float_engine.tracing_count() == traced


def test_float_path_leaves_blas_threads_alone(
    bundle: ModelBundle, encoder: SentenceEncoder
) -> None:
    engine = ClassificationEngine(bundle, encoder, max_batch=1, forward="float")
    with threadpool_limits(2, user_api="blas"):  # whatever another engine set meanwhile
        before = _blas_threads()
        engine.start()
        try:
            assert _blas_threads() == before
        finally:
            engine.close()


# Measured with v6 (2026-12-06): int8 keeps every label and moves the confidences by at most
# 0.009 (sentiment) and 0.029 (intent); the smallest intent lead here is 0.19 (the exchange-rate
# text). v5 measured 0.018 and 0.023 on an earlier int8 build.
# With v4, an ambiguous text ("Thanks, my new card arrived today, great service!": intent lead
# 0.04) did flip its intent, so the list holds clear texts only.
CLEAR_TEXTS = [
    "My card still hasn't arrived and it has been two weeks, this is ridiculous.",
    "How do I change my PIN?",
    "My PIN is blocked after I typed it wrong three times.",
    "I was charged twice for the same purchase and I am furious.",
    "Please close my account, I want to terminate it.",
    "Apple Pay works perfectly with my card, thank you!",
    "I love how fast the exchange rate updates in the app, brilliant!",
]


def test_float_and_int8_paths_agree_on_clear_texts(
    float_engine: ClassificationEngine,
    served_bundle: ModelBundle,
    served_encoder: SentenceEncoder,
) -> None:
    int8_engine = ClassificationEngine(served_bundle, served_encoder, max_batch=8, forward="int8")
    int8_engine.start()
    try:
        approximate = int8_engine.classify(CLEAR_TEXTS)
    finally:
        int8_engine.close()
    for exact, approx in zip(float_engine.classify(CLEAR_TEXTS), approximate, strict=True):
        assert (approx.sentiment, approx.intent) == (exact.sentiment, exact.intent)
        assert approx.sentiment_confidence == pytest.approx(exact.sentiment_confidence, abs=0.05)
        assert approx.intent_confidence == pytest.approx(exact.intent_confidence, abs=0.05)
