"""The engine's spans and metrics: what a trace and a dashboard say about the model's work."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import Future
from typing import Any

import pytest
from carepulse.v1 import events_pb2
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from servicekit.kafka.consumer import InboundRecord
from services.classify.bundle import ModelBundle
from services.classify.consumer import ClassifyProcessor
from services.classify.engine import ClassificationEngine
from services.classify.prediction import Prediction
from textencoder import SentenceEncoder

from .conftest import engine_under_load

tracer = trace.get_tracer(__name__)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def exemplar_trace_ids(metric: str) -> set[str]:
    return {
        s.exemplar.labels["trace_id"]
        for family in REGISTRY.collect()
        if family.name == metric
        for s in family.samples
        if s.exemplar is not None
    }


def named(spans: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name == name]


def every_value(span: ReadableSpan) -> list[str]:
    """Everything a span carries as text: attributes, link and event attributes, status."""
    found = [str(v) for v in (span.attributes or {}).values()]
    for link in span.links:
        found += [str(v) for v in (link.attributes or {}).values()]
    for event in span.events:
        found += [str(v) for v in (event.attributes or {}).values()]
    return [*found, span.name, str(span.status.description)]


def test_a_micro_batch_span_links_every_caller_it_served_and_each_links_back(
    bundle: ModelBundle,
    encoder: SentenceEncoder,
    exported_spans: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = ClassificationEngine(bundle, encoder, max_batch=16, max_wait_ms=400.0)
    engine.start()

    def call(i: int) -> None:
        with tracer.start_as_current_span(f"caller {i}"):
            engine.classify([f"caller {i} asks where their new debit card is"])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    try:
        with engine_under_load(engine, monkeypatch, queued_texts=2):
            for t in threads:
                t.start()
        for t in threads:
            t.join()
    finally:
        engine.close()

    (batch,) = [
        s
        for s in named(exported_spans, "classify batch")
        if (s.attributes or {}).get("classify.batch.requests") == 2
    ]
    callers = {
        s.name: s for s in exported_spans.get_finished_spans() if s.name.startswith("caller")
    }
    caller_ids = {c.context.span_id for c in callers.values()}
    classify_spans = [
        s for s in named(exported_spans, "classify") if s.parent and s.parent.span_id in caller_ids
    ]
    assert len(classify_spans) == 2
    # Each call's span is its caller's child; the batch links to both and each links back.
    assert {s.parent.span_id for s in classify_spans if s.parent} == {
        c.context.span_id for c in callers.values()
    }
    assert {link.context.span_id for link in batch.links} == {
        s.context.span_id for s in classify_spans
    }
    assert all(link.attributes == {"classify.texts": 1} for link in batch.links)
    for span in classify_spans:
        assert [link.context.span_id for link in span.links] == [batch.context.span_id]
    assert batch.parent is None

    attributes: dict[str, Any] = dict(batch.attributes or {})
    assert attributes["classify.model.name"] == encoder.name
    assert attributes["classify.model.version"] == "test-v0"
    assert attributes["classify.forward"] == engine.forward_path
    assert attributes["classify.batch.requests"] == 2
    assert attributes["classify.batch.texts"] == 2
    assert attributes["classify.batch.explained_texts"] == 0
    assert 3 <= attributes["classify.batch.tokens_mean"] <= attributes["classify.batch.tokens_max"]
    assert attributes["classify.batch.oldest_queue_wait_ms"] >= 0


def test_the_call_span_carries_each_texts_labels_and_confidences_and_never_the_text(
    engine: ClassificationEngine, exported_spans: InMemorySpanExporter
) -> None:
    texts = ["The quokka app charged me twice for one coffee", "Where is my quokka card?"]
    engine.classify(texts[:1])  # the second call finds this one in the cache
    exported_spans.clear()

    predictions = engine.classify(texts)

    (span,) = named(exported_spans, "classify")
    attributes: dict[str, Any] = dict(span.attributes or {})
    assert attributes["classify.texts"] == 2
    assert attributes["classify.cache_hits"] == 1
    assert attributes["classify.explain"] is False
    assert attributes["classify.model.version"] == "test-v0"
    assert list(attributes["classify.sentiment"]) == [p.sentiment for p in predictions]
    assert list(attributes["classify.intent"]) == [p.intent for p in predictions]
    assert list(attributes["classify.sentiment_confidence"]) == [
        p.sentiment_confidence for p in predictions
    ]
    assert list(attributes["classify.intent_confidence"]) == [
        p.intent_confidence for p in predictions
    ]
    for exported in exported_spans.get_finished_spans():
        assert not [v for v in every_value(exported) if "quokka" in v], exported.name


def test_each_micro_batch_records_size_queue_wait_and_model_time_linked_to_its_trace(
    engine: ClassificationEngine, exported_spans: InMemorySpanExporter
) -> None:
    model = {"model_version": "test-v0", "forward": engine.forward_path}
    batches = sample("carepulse_classify_batch_size_count")
    texts = sample("carepulse_classify_batch_size_sum")
    waits = sample("carepulse_classify_queue_wait_seconds_count")
    passes = sample("carepulse_classify_model_seconds_count", **model)
    model_time = sample("carepulse_classify_model_seconds_sum", **model)

    engine.classify(["three texts", "in one call", "are one micro-batch"])

    assert sample("carepulse_classify_batch_size_count") == batches + 1
    assert sample("carepulse_classify_batch_size_sum") == texts + 3
    assert sample("carepulse_classify_queue_wait_seconds_count") == waits + 1
    assert sample("carepulse_classify_model_seconds_count", **model) == passes + 1
    assert sample("carepulse_classify_model_seconds_sum", **model) > model_time
    (batch,) = named(exported_spans, "classify batch")
    trace_id = format(batch.context.trace_id, "032x")
    assert trace_id in exemplar_trace_ids("carepulse_classify_model_seconds")
    assert trace_id in exemplar_trace_ids("carepulse_classify_queue_wait_seconds")


def test_cache_lookups_count_every_text_as_a_hit_or_a_miss(engine: ClassificationEngine) -> None:
    hits = sample("carepulse_classify_cache_lookups_total", result="hit")
    misses = sample("carepulse_classify_cache_lookups_total", result="miss")

    engine.classify(["a text seen once", "and another one"])
    engine.classify(["a text seen once", "a text seen once", "and another one"])

    assert sample("carepulse_classify_cache_lookups_total", result="miss") == misses + 2
    assert sample("carepulse_classify_cache_lookups_total", result="hit") == hits + 3


class _AcceptingProducer:
    def publish(self, *_args: object, **_kwargs: object) -> Future[None]:
        done: Future[None] = Future()
        done.set_result(None)
        return done


def _record(offset: int, text: str) -> InboundRecord[events_pb2.CustomerMessage]:
    message = events_pb2.CustomerMessage(
        message_id=f"m-{offset}", conversation_id="c-1", customer_id="u-1", text=text
    )
    return InboundRecord(message, key="c-1", topic="messages.raw", partition=0, offset=offset)


def _by_labels(predictions: list[Prediction]) -> Counter[tuple[str, str]]:
    return Counter((p.sentiment, p.intent) for p in predictions)


def _classified(sentiment: str, intent: str) -> float:
    return sample("carepulse_messages_classified_total", sentiment=sentiment, intent=intent)


def _confidences(head: str) -> float:
    return sample("carepulse_classify_confidence_count", head=head)


def test_the_stream_counts_each_message_once_even_when_the_chat_classified_it_first(
    engine: ClassificationEngine,
) -> None:
    chat_text = "My card was stolen on the train this morning"
    stream_text = "How long does a transfer to another bank take?"
    predictions = engine.classify([chat_text, stream_text])
    before = {labels: _classified(*labels) for labels in _by_labels(predictions)}
    confidences = {head: _confidences(head) for head in ("sentiment", "intent")}
    engine.classify([chat_text])  # the chat's gRPC answer: served, not counted

    processor = ClassifyProcessor(engine, _AcceptingProducer())  # type: ignore[arg-type]
    processor.process([_record(1, chat_text), _record(2, stream_text)])

    for labels, count in _by_labels(predictions).items():
        assert _classified(*labels) == before[labels] + count
    assert {head: _confidences(head) - confidences[head] for head in confidences} == {
        "sentiment": 2,
        "intent": 2,
    }
