"""`ClassificationEngine`: sentiment + intent for many concurrent callers.

It wires four parts, each in its own module, and the telemetry around them:

* `MicroBatcher` (`batcher.py`): merges the callers' texts into micro-batches; the encoder
  stage runs on its worker thread, the rest on its finishing thread.
* `ClassifyModel` (`model.py`): the encoder forward pass and each task's pipeline (the
  bundle's head, exemplar votes, n-grams), assembled into `Prediction`s.
* `Explainer` (`explanations.py`): attributions for callers who ask (`explain=True`).
* `PredictionCache` (`prediction_cache.py`): predictions by the sha256 of the text, so a
  message classified on the chat path is not recomputed on the Kafka path.

Each prediction carries the message's sentence vector (float16, 768 bytes, cached with it), so
recommend ranks without encoding the message again. Each call is a `classify` span and each
micro-batch a `classify batch` span linked to every call it served (`spans.py`); batch size,
queue wait, model time and cache lookups are metrics (`metrics.py`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN_CONTEXT, Span, SpanContext

from servicekit.metrics import trace_exemplar
from services.classify import spans
from services.classify.batcher import BatcherNotRunning, MicroBatcher, Request
from services.classify.bundle import ModelBundle
from services.classify.explanations import (
    EXPLAIN_METHODS,
    Explainer,
    ExplainMethod,
    Pieces,
    Variant,
)
from services.classify.metrics import BATCH_SIZE, MODEL_SECONDS, QUEUE_WAIT
from services.classify.model import ClassifyModel, ForwardPath
from services.classify.prediction import Prediction
from services.classify.prediction_cache import CacheEntry, PredictionCache, text_key
from textencoder.quantized import Int8Encoder

if TYPE_CHECKING:  # imports TensorFlow; only the float and gradient paths load it
    from textencoder.encoder import SentenceEncoder


@dataclass(frozen=True)
class EngineStats:
    micro_batches: int  # batcher rounds, each merging one or more callers
    forward_passes: int  # encoder invocations (a micro-batch > max_batch texts needs several)
    texts_computed: int
    cache_hits: int
    cache_misses: int


class ClassificationEngine:
    def __init__(
        self,
        bundle: ModelBundle,
        encoder: SentenceEncoder | Int8Encoder,
        *,
        max_batch: int = 32,
        max_wait_ms: float = 5.0,
        cache_size: int = 10_000,
        forward: ForwardPath = "auto",
        max_queued_texts: int = 512,
        explain_method: ExplainMethod = "occlusion",
    ) -> None:
        if max_batch < 1 or max_wait_ms < 0 or cache_size < 0 or max_queued_texts < 1:
            raise ValueError(
                "max_batch and max_queued_texts must be >= 1, max_wait_ms and cache_size >= 0"
            )
        if explain_method not in EXPLAIN_METHODS:
            raise ValueError(f"explain_method must be one of {EXPLAIN_METHODS}")
        self._model = ClassifyModel(bundle, encoder, forward=forward, max_batch=max_batch)
        self._explainer = Explainer(self._model, explain_method, max_batch=max_batch)
        self._cache = PredictionCache(cache_size)
        self._stages = _Stages(self._model, self._explainer, self._cache)
        self._batcher: MicroBatcher[_Text, _Caller, _Answer, _Encoded] = MicroBatcher(
            self._stages,
            max_batch=max_batch,
            max_wait_ms=max_wait_ms,
            max_queued_items=max_queued_texts,
            name="classify",
        )
        self._lifecycle = threading.Lock()
        self._started = False
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Warm up every length bucket (forward and explanation), then start the batcher."""
        with self._lifecycle:
            if self._closed:
                raise BatcherNotRunning("engine was closed")
            if self._started:
                return
            self._started = True
        self._model.start()
        self._explainer.warm_up()
        self._batcher.start()

    def close(self) -> None:
        """Finish the queued requests, then stop. Later calls raise."""
        with self._lifecycle:
            if self._closed:
                return
            self._closed = True
        self._batcher.close()
        self._model.close()

    @property
    def ready(self) -> bool:
        return self._batcher.running

    @property
    def model_version(self) -> str:
        return self._model.bundle.version

    @property
    def encoder_id(self) -> str:
        """The encoder every `SentenceVector` of this engine comes from."""
        return self._model.encoder_id

    @property
    def explain_method(self) -> ExplainMethod:
        return self._explainer.method

    @property
    def forward_path(self) -> Literal["float", "int8"]:
        """The forward pass that serves plain requests ("auto" resolved for the device)."""
        return self._model.forward_path

    def stats(self) -> EngineStats:
        return self._stages.stats(self._cache)

    def tracing_count(self) -> int:
        """How often the encoder and explanation graphs were traced (stays put after start);
        0 for an engine on a built `Int8Encoder`: ONNX Runtime traces nothing."""
        return self._model.tracing_count() + self._explainer.tracing_count()

    # -- classification ----------------------------------------------------------------------

    def classify(
        self, texts: Sequence[str], *, explain: bool = False, deadline: float | None = None
    ) -> list[Prediction]:
        """Predictions in the order of `texts`. Thread-safe; blocks until computed.

        A caller with a `deadline` (time.monotonic()) is a request someone waits for: it goes
        ahead of callers without one, is refused with BatcherOverloaded when more than
        `max_queued_texts` texts of such callers wait already, and its texts are skipped
        (DeadlineExpired) once the deadline has passed. Callers without one (the Kafka
        consumer, which has its own backpressure) always queue, behind them.
        """
        with spans.classifying(len(texts), explain, self.model_version) as span:
            keys = [text_key(t) for t in texts]
            results, missing = self._cache.lookup(keys, explain)
            batch = INVALID_SPAN_CONTEXT
            if missing:
                answer = self._batcher.submit(
                    [(keys[i], texts[i]) for i in missing],
                    _Caller(explain, span.get_span_context()),
                    deadline=deadline,
                )
                for i, prediction in zip(missing, answer.predictions, strict=True):
                    results[i] = prediction
                batch = answer.batch
            predictions = [p for p in results if p is not None]
            spans.record_answer(span, predictions, computed=len(missing), batch=batch)
            return predictions

    # -- explanations ------------------------------------------------------------------------

    def pieces(self, texts: Sequence[str]) -> list[Pieces]:
        """The word pieces of `texts`, as explanations and their evaluation remove them."""
        return self._explainer.pieces(texts)

    def served_probabilities(
        self, variants: Sequence[Variant]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Served (sentiment, intent) distributions of messages given as token ids plus text:
        for a full message exactly what `classify` returns; for a reduced one, what it would
        return if the encoder saw only the remaining ids and the n-grams the remaining text."""
        _, sentiment, intent = self._model.score_ids(
            [v.ids for v in variants], [v.text for v in variants]
        )
        return sentiment, intent


_Text = tuple[str, str]  # (cache key, text)


@dataclass(frozen=True)
class _Caller:
    explain: bool
    span: SpanContext  # the caller's `classify` span


@dataclass(frozen=True)
class _Answer:
    predictions: list[Prediction]
    batch: SpanContext  # the `classify batch` span that computed them


@dataclass(frozen=True)
class _Encoded:
    """What the encoder stage hands to the finishing stage."""

    plain: dict[str, str]  # texts by cache key
    explain: dict[str, str]
    vectors: npt.NDArray[np.float32] | None  # of the plain texts
    span: Span  # the batch's, ended by the finishing stage
    encode_s: float


_Request = Request[_Text, _Caller, _Answer]


class _Stages:
    """A micro-batch's two stages: the encoder forward pass on the batcher's worker; heads,
    explanations, the cache and the answers on its finishing thread."""

    def __init__(self, model: ClassifyModel, explainer: Explainer, cache: PredictionCache) -> None:
        self._model = model
        self._explainer = explainer
        self._cache = cache
        self._model_seconds = MODEL_SECONDS.labels(model.bundle.version, model.forward_path)
        self._counts = {"micro_batches": 0, "forward_passes": 0, "texts_computed": 0}
        self._counts_lock = threading.Lock()

    def stats(self, cache: PredictionCache) -> EngineStats:
        with self._counts_lock:
            return EngineStats(**self._counts, cache_hits=cache.hits, cache_misses=cache.misses)

    def first(self, batch: list[_Request]) -> _Encoded:
        started = time.monotonic()
        plain, explain = _by_kind(batch)
        span = spans.start_batch(
            callers=[(request.context.span, len(request.items)) for request in batch],
            model_name=self._model.bundle.encoder_name,
            model_version=self._model.bundle.version,
            forward=self._model.forward_path,
            texts=len(plain) + len(explain),
            explained_texts=len(explain),
            oldest_wait_s=started - min(request.queued_at for request in batch),
        )
        try:
            # Current while it lasts (an exception is recorded on it), so the exemplars point
            # to the batch's trace: no caller's span is current on this thread.
            with trace.use_span(span):
                exemplar = trace_exemplar()
                BATCH_SIZE.observe(len(plain) + len(explain))
                for request in batch:
                    QUEUE_WAIT.observe(started - request.queued_at, exemplar=exemplar)
                encode_started = time.perf_counter()
                vectors = None
                if plain:
                    # Tokenized here rather than in the model: the span records the lengths.
                    ids = self._model.tokens.token_ids(list(plain.values()))
                    spans.record_token_lengths(span, [len(row) for row in ids])
                    vectors = self._model.encode_ids(ids)
                encode_s = time.perf_counter() - encode_started
        except Exception:
            span.end()
            raise
        return _Encoded(plain, explain, vectors, span, encode_s)

    def second(self, batch: list[_Request], encoded: _Encoded) -> list[_Answer]:
        # Explanations are the expensive part: none for callers who stopped waiting.
        wanted = {key for request in batch if request.context.explain for key, _ in request.items}
        explain = {key: text for key, text in encoded.explain.items() if key in wanted}
        # Ended before the callers are answered: their spans end after the batch's.
        with trace.use_span(encoded.span, end_on_exit=True):
            computed = self._compute(encoded.plain, explain, encoded.vectors, encoded.encode_s)
        context = encoded.span.get_span_context()
        return [
            _Answer(
                [computed[key].pick(request.context.explain) for key, _ in request.items], context
            )
            for request in batch
        ]

    def _compute(
        self,
        plain: dict[str, str],
        explain: dict[str, str],
        vectors: npt.NDArray[np.float32] | None,
        encode_s: float,
    ) -> dict[str, CacheEntry]:
        entries: dict[str, CacheEntry] = {}
        passes = 0
        if vectors is not None:
            heads_started = time.perf_counter()
            passes += -(-len(plain) // self._model.texts_per_pass)
            predictions = self._model.predict(vectors, list(plain.values()))
            for key, prediction in zip(plain, predictions, strict=True):
                entries[key] = CacheEntry(prediction, None)
            self._model_seconds.observe(
                encode_s + time.perf_counter() - heads_started, exemplar=trace_exemplar()
            )
        if explain:
            predictions = self._explainer.explain(list(explain.values()))
            for key, prediction in zip(explain, predictions, strict=True):
                stripped = replace(prediction, sentiment_attributions=(), intent_attributions=())
                entries[key] = CacheEntry(stripped, prediction)
        with self._counts_lock:
            self._counts["micro_batches"] += 1
            self._counts["forward_passes"] += passes
            self._counts["texts_computed"] += len(entries)
        self._cache.store(entries)
        return entries


def _by_kind(batch: list[_Request]) -> tuple[dict[str, str], dict[str, str]]:
    """Texts by cache key: plain ones and ones to explain (an explained text is not rerun)."""
    explain: dict[str, str] = {}
    plain: dict[str, str] = {}
    for request in batch:
        for key, text in request.items:
            (explain if request.context.explain else plain)[key] = text
    for key in explain:
        plain.pop(key, None)
    return plain, explain
