"""`ClassificationEngine`: sentiment + intent with micro-batching, an LRU cache and explanations.

Many callers (gRPC threads, the Kafka consumer) call `classify` at once. Their texts are queued;
one worker thread merges what is queued (under load, also what arrives within `max_wait_ms`;
up to `max_batch` texts) into one micro-batch and runs it through the encoder; a second thread
feeds each embedding to both heads (and their exemplar votes) and answers the callers, while
the worker encodes the next one.
Results are cached by the sha256 of the text, so a message classified on the chat path is not
recomputed on the Kafka path. Each prediction carries the message's sentence vector (float16,
768 bytes, cached with it), so recommend ranks without encoding the message again.
Explanations (`explain=True`) are computed on the finishing thread by the method in
`services.classify.explanations` (occlusion by default). Each call is a `classify` span and
each micro-batch a `classify batch` span linked to every call it served
(`services.classify.spans`); batch size, queue wait, model time and cache lookups are metrics
(`services.classify.metrics`).

A bundle with encoder adapters (v2+) has them merged into the encoder's weights when the engine
is built, so the forward pass is the plain encoder graph; give each engine its own encoder.

The forward pass (`forward`) is the float TensorFlow graph in batches of up to `max_batch` texts
padded to length buckets (float16 compute where the encoder uses mixed precision), or an int8
ONNX Runtime copy of the encoder, one text per run (CPU only). "auto" picks int8 on a CPU and
float on a GPU; naming one lets tests run the GPU's float path on a CPU. Given an `Int8Encoder`
(the service on a CPU: `textencoder.int8_cache`), the engine serves int8 with occlusion
explanations and never imports TensorFlow; given a `SentenceEncoder`, it builds the int8 copy
in-process when the int8 path is chosen. Gradient explanations need the `SentenceEncoder`.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import numpy.typing as npt
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN_CONTEXT, Span, SpanContext
from threadpoolctl import threadpool_limits

from servicekit.metrics import trace_exemplar
from services.classify import spans
from services.classify.bundle import EncoderMismatch, ModelBundle
from services.classify.explanations import (
    EXPLAIN_METHODS,
    ExplainMethod,
    Pieces,
    PieceTokenizer,
    Variant,
)
from services.classify.metrics import (
    BATCH_SIZE,
    CACHE_HITS,
    CACHE_MISSES,
    MODEL_SECONDS,
    QUEUE_WAIT,
)
from services.classify.prediction import Prediction, SentenceVector, TokenAttributions
from textencoder.quantized import Int8Encoder
from textencoder.tokens import EMBEDDING_DIM

if TYPE_CHECKING:  # both import TensorFlow; only the float and gradient paths load them
    from services.classify.gradients import GradientAttributions
    from textencoder.encoder import SentenceEncoder

# Enough for recommend to hedge between confusable intents; the rest carry ~no mass.
INTENT_CANDIDATES = 5
# Gradients keep every layer's activations: bound the rows (texts x steps) of a gradient pass.
EXPLAIN_ROWS_PER_PASS = 16
# Integrated gradients: midpoint steps from the zero word embedding to the message's.
INTEGRATED_GRADIENT_STEPS = 8

ForwardPath = Literal["auto", "float", "int8"]


def encoder_id(bundle: ModelBundle) -> str:
    """Names the encoder weights a bundle serves: its base checkpoint with its adapters merged.

    Two bundles with the same base and adapters (new heads only) embed alike and share it; a
    forward path does not enter it (int8 and float vectors of one encoder rank alike:
    docs/recommend.md).
    """
    weights = f"{bundle.encoder_sha256}+{bundle.adapters.sha256 if bundle.adapters else ''}"
    digest = hashlib.sha256(weights.encode("ascii")).hexdigest()[:16]
    return f"{bundle.encoder_name.rsplit('/', 1)[-1]}:{digest}"


class EngineNotRunning(RuntimeError):
    """`classify` was called before `start()` or after `close()`."""


class EngineOverloaded(RuntimeError):
    """More texts are waiting than the engine accepts from callers with a deadline."""


class DeadlineExpired(RuntimeError):
    """The caller's deadline passed before its texts were computed; the work was skipped."""


@dataclass(frozen=True)
class EngineStats:
    micro_batches: int  # worker rounds, each merging one or more callers
    forward_passes: int  # encoder invocations (a micro-batch > max_batch texts needs several)
    texts_computed: int
    cache_hits: int
    cache_misses: int


@dataclass
class _Request:
    texts: list[str]
    keys: list[str]
    explain: bool
    deadline: float | None = None  # time.monotonic() after which nobody waits for the answer
    caller: SpanContext = INVALID_SPAN_CONTEXT  # the caller's `classify` span
    queued_at: float = field(default_factory=time.monotonic)
    batch: SpanContext = INVALID_SPAN_CONTEXT  # its `classify batch` span, set before answering
    future: Future[list[Prediction]] = field(default_factory=Future)

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


@dataclass(frozen=True)
class _CacheEntry:
    plain: Prediction  # without attributions
    explained: Prediction | None  # with attributions, when they were computed

    def pick(self, explain: bool) -> Prediction:
        if explain and self.explained is None:
            raise LookupError("no explanation was computed for this text")
        return self.explained if explain and self.explained is not None else self.plain


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
        if forward not in get_args(ForwardPath):
            raise ValueError(f"forward must be one of {get_args(ForwardPath)}, got {forward!r}")
        if explain_method not in EXPLAIN_METHODS:
            raise ValueError(f"explain_method must be one of {EXPLAIN_METHODS}")
        if encoder.weights_sha256 != bundle.encoder_sha256:
            raise EncoderMismatch(
                f"bundle {bundle.version} needs encoder sha256={bundle.encoder_sha256}, "
                f"got {encoder.weights_sha256} from {encoder.tokens.model_dir}"
            )
        if isinstance(encoder, Int8Encoder):
            _check_built_int8(bundle, encoder, forward, explain_method)
            on_cpu = True
        else:
            on_cpu = _merge_into_encoder(bundle, encoder, forward)
        self._bundle = bundle
        self._encoder = encoder
        self._tokens = encoder.tokens
        self._encoder_id = encoder_id(bundle)
        self._max_batch = max_batch
        self._max_wait_s = max_wait_ms / 1000.0
        self._cache_size = cache_size

        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()  # None: stop
        self._max_queued_texts = max_queued_texts
        self._queued_texts = 0  # waiting for the worker; guarded by _state_lock
        self._cache: OrderedDict[str, _CacheEntry] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._running = False
        self._closed = False
        self._worker: threading.Thread | None = None
        self._finisher = ThreadPoolExecutor(1, thread_name_prefix="classify-finisher")
        self._counts = {"micro_batches": 0, "forward_passes": 0, "texts_computed": 0}
        self._cache_hits = 0
        self._cache_misses = 0

        self._explain_method: ExplainMethod = explain_method
        self._gradients: GradientAttributions | None = None
        if explain_method != "occlusion" and not isinstance(encoder, Int8Encoder):
            from services.classify.gradients import GradientAttributions

            self._gradients = GradientAttributions(encoder, bundle)
        self._pieces = PieceTokenizer(self._tokens.model_dir, self._tokens.max_length)
        self._occlusion_runs: ThreadPoolExecutor | None = None  # int8 runs side by side
        self._forward_path: Literal["float", "int8"] = (
            "int8" if forward == "int8" or (forward == "auto" and on_cpu) else "float"
        )
        self._model_seconds = MODEL_SECONDS.labels(bundle.version, self._forward_path)
        # The int8 path swaps in an int8 copy of the encoder in start().
        self._forward: SentenceEncoder | Int8Encoder = encoder
        self._rows_per_pass = max_batch
        self._blas_limit: threadpool_limits | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Warm up every length bucket (forward and explanation), then start the batcher."""
        with self._state_lock:
            if self._closed:
                raise EngineNotRunning("engine was closed")
            if self._running:
                return
        if self._forward_path == "int8":
            int8 = self._encoder if isinstance(self._encoder, Int8Encoder) else self._encoder.int8()
            self._forward = int8
            self._rows_per_pass = 1  # int8 runs are one text each
            # The int8 workers already use every core; a multi-threaded BLAS in the finisher's
            # head and exemplar matmuls would only spin against them (measured: ~9% fewer
            # messages/s on 2 cores).
            self._blas_limit = threadpool_limits(1, user_api="blas")
            self._occlusion_runs = ThreadPoolExecutor(
                int8.num_threads, thread_name_prefix="classify-occlusion"
            )
        self._forward.warm_up(batch_size=self._max_batch)
        if self._gradients is not None:
            steps = self._gradient_steps
            for width in self._tokens.length_buckets:
                ids = np.zeros((1, width), dtype=np.int32)
                ids[0, 0], ids[0, -1] = 101, 102
                self._gradients.run(ids, np.ones_like(ids), np.zeros((1, 2), np.int32), steps)
        with self._state_lock:
            self._worker = threading.Thread(
                target=self._serve, name="classify-batcher", daemon=True
            )
            self._worker.start()
            self._running = True

    @property
    def ready(self) -> bool:
        return self._running

    @property
    def model_version(self) -> str:
        return self._bundle.version

    @property
    def encoder_id(self) -> str:
        """The encoder every `SentenceVector` of this engine comes from."""
        return self._encoder_id

    @property
    def explain_method(self) -> ExplainMethod:
        return self._explain_method

    @property
    def forward_path(self) -> Literal["float", "int8"]:
        """The forward pass that serves plain requests ("auto" resolved for the device)."""
        return self._forward_path

    def close(self) -> None:
        """Finish the queued requests, then stop the worker. Later calls raise."""
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            self._running = False
            worker = self._worker
            self._queue.put(None)
        if worker is not None:
            worker.join()
        self._finisher.shutdown(wait=True)
        if self._occlusion_runs is not None:
            self._occlusion_runs.shutdown(wait=True)
        if self._blas_limit is not None:
            self._blas_limit.restore_original_limits()

    def stats(self) -> EngineStats:
        with self._cache_lock:
            return EngineStats(
                micro_batches=self._counts["micro_batches"],
                forward_passes=self._counts["forward_passes"],
                texts_computed=self._counts["texts_computed"],
                cache_hits=self._cache_hits,
                cache_misses=self._cache_misses,
            )

    def tracing_count(self) -> int:
        """How often the encoder and explanation graphs were traced (stays put after start);
        0 for an engine on a built `Int8Encoder`: ONNX Runtime traces nothing."""
        if isinstance(self._encoder, Int8Encoder):
            return 0
        pooled = int(self._encoder.pooled_function.experimental_get_tracing_count())
        return pooled + (self._gradients.tracing_count() if self._gradients else 0)

    # -- classification ----------------------------------------------------------------------

    def classify(
        self, texts: Sequence[str], *, explain: bool = False, deadline: float | None = None
    ) -> list[Prediction]:
        """Predictions in the order of `texts`. Thread-safe; blocks until computed.

        A caller with a `deadline` (time.monotonic()) is a request someone waits for: it is
        refused with EngineOverloaded when more than `max_queued_texts` wait already, and its
        texts are skipped (DeadlineExpired) once the deadline has passed. Callers without one
        (the Kafka consumer, which has its own backpressure) always queue.
        """
        with spans.classifying(len(texts), explain, self._bundle.version) as span:
            keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
            results, missing = self._cached(keys, explain)
            batch = INVALID_SPAN_CONTEXT
            if missing:
                request = _Request(
                    [texts[i] for i in missing],
                    [keys[i] for i in missing],
                    explain,
                    deadline,
                    caller=span.get_span_context(),
                )
                self._enqueue(request)
                for i, prediction in zip(missing, request.future.result(), strict=True):
                    results[i] = prediction
                batch = request.batch
            predictions = [p for p in results if p is not None]
            spans.record_answer(span, predictions, computed=len(missing), batch=batch)
            return predictions

    def _cached(self, keys: list[str], explain: bool) -> tuple[list[Prediction | None], list[int]]:
        """Cached predictions by position (None where missing), and the missing positions."""
        results: list[Prediction | None] = [None] * len(keys)
        missing: list[int] = []
        with self._cache_lock:
            for i, key in enumerate(keys):
                entry = self._cache.get(key)
                hit = entry.explained if (entry and explain) else (entry and entry.plain)
                if hit:
                    self._cache.move_to_end(key)
                    results[i] = hit
                else:
                    missing.append(i)
            self._cache_hits += len(keys) - len(missing)
            self._cache_misses += len(missing)
        CACHE_HITS.inc(len(keys) - len(missing))
        CACHE_MISSES.inc(len(missing))
        return results, missing

    def _enqueue(self, request: _Request) -> None:
        with self._state_lock:
            if not self._running:
                raise EngineNotRunning("call start() first" if not self._closed else "closed")
            waiting = self._queued_texts + len(request.texts)
            if request.deadline is not None and waiting > self._max_queued_texts:
                raise EngineOverloaded(
                    f"{self._queued_texts} texts are waiting; the engine takes at most "
                    f"{self._max_queued_texts} from callers with a deadline"
                )
            self._queued_texts = waiting
            self._queue.put(request)

    # -- worker ------------------------------------------------------------------------------

    def _serve(self) -> None:
        carry: _Request | None = None
        while True:
            # A request already waiting when the last micro-batch is done means load: then the
            # wait fills the next micro-batch (throughput). An idle engine answers a lone
            # request at once, since waiting would only add latency; what is queued still joins.
            first, under_load, carry = carry, carry is not None, None
            if first is None:
                try:
                    first, under_load = self._take(block=False), True
                except queue.Empty:
                    first = self._take()
            if first is None:  # close() was called and everything before it is done
                return
            batch, size, stop = [first], len(first.texts), False
            deadline = time.monotonic() + (self._max_wait_s if under_load else 0.0)
            while size < self._max_batch:
                remaining = deadline - time.monotonic()
                try:
                    item = (
                        self._take(timeout=remaining) if remaining > 0 else self._take(block=False)
                    )
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                if size + len(item.texts) > self._max_batch:
                    carry = item  # starts the next micro-batch
                    break
                batch.append(item)
                size += len(item.texts)
            self._run_batch(batch)
            if stop:
                return

    def _take(self, timeout: float | None = None, *, block: bool = True) -> _Request | None:
        """The next queued request (None: the stop sign); raises queue.Empty if none comes."""
        item = self._queue.get(block=block, timeout=timeout)
        if item is not None:
            with self._state_lock:
                self._queued_texts -= len(item.texts)
        return item

    def _run_batch(self, batch: list[_Request]) -> None:
        """Encoder stage on the worker; heads, explanations and answers on the finisher.

        Two stages, so the encoder runs of the next micro-batch overlap the heads, exemplar
        votes and result hand-off of this one instead of leaving the cores idle in between.
        The batch's span starts here and ends on the finisher.
        """
        batch = _drop_expired(batch)
        if not batch:
            return
        started = time.monotonic()
        plain, explain = _by_kind(batch)
        span = spans.start_batch(
            callers=[(request.caller, len(request.texts)) for request in batch],
            model_name=self._bundle.encoder_name,
            model_version=self._bundle.version,
            forward=self._forward_path,
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
                    request.batch = span.get_span_context()
                encode_started = time.perf_counter()
                vectors = None
                if plain:
                    # Tokenized here rather than in encode(): the span records the lengths.
                    ids = self._tokens.token_ids(list(plain.values()))
                    spans.record_token_lengths(span, [len(row) for row in ids])
                    vectors = self._forward.encode_ids(ids, batch_size=self._max_batch)
                encode_s = time.perf_counter() - encode_started
        except Exception as error:  # handed to every waiting caller, who re-raises it
            span.end()
            _fail(batch, error)
            return
        self._finisher.submit(self._finish, batch, plain, explain, vectors, span, encode_s)

    def _finish(
        self,
        batch: list[_Request],
        plain: dict[str, str],
        explain: dict[str, str],
        vectors: npt.NDArray[np.float32] | None,
        span: Span,
        encode_s: float,
    ) -> None:
        live = _drop_expired(batch)
        if len(live) < len(batch):
            # Explanations are the expensive part: none for callers who stopped waiting.
            wanted = {key for request in live if request.explain for key in request.keys}
            explain = {key: text for key, text in explain.items() if key in wanted}
        batch = live
        try:
            # Ended before the callers are answered: their spans end after the batch's.
            with trace.use_span(span, end_on_exit=True):
                computed = self._compute(plain, explain, vectors, encode_s)
        except Exception as error:
            _fail(batch, error)
            return
        for request in batch:
            request.future.set_result([computed[k].pick(request.explain) for k in request.keys])

    def _compute(
        self,
        plain: dict[str, str],
        explain: dict[str, str],
        vectors: npt.NDArray[np.float32] | None,
        encode_s: float,
    ) -> dict[str, _CacheEntry]:
        entries: dict[str, _CacheEntry] = {}
        passes = 0
        if vectors is not None:
            heads_started = time.perf_counter()
            passes += -(-len(plain) // self._rows_per_pass)
            predictions = self._predict(list(plain.values()), vectors)
            for key, prediction in zip(plain, predictions, strict=True):
                entries[key] = _CacheEntry(prediction, None)
            self._model_seconds.observe(
                encode_s + time.perf_counter() - heads_started, exemplar=trace_exemplar()
            )
        if explain:
            predictions = self._explain(list(explain.values()))
            for key, prediction in zip(explain, predictions, strict=True):
                stripped = replace(prediction, sentiment_attributions=(), intent_attributions=())
                entries[key] = _CacheEntry(stripped, prediction)

        with self._cache_lock:
            self._counts["micro_batches"] += 1
            self._counts["forward_passes"] += passes
            self._counts["texts_computed"] += len(entries)
            if self._cache_size:
                for key, entry in entries.items():
                    self._cache[key] = entry
                    self._cache.move_to_end(key)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return entries

    def _predict(self, texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> list[Prediction]:
        return self._from_logits(
            texts,
            vectors,
            self._bundle.sentiment.logits(vectors),
            self._bundle.intent.logits(vectors),
        )

    def _from_logits(
        self,
        texts: Sequence[str],
        vectors: npt.NDArray[np.float32],
        sentiment_logits: npt.NDArray[np.float32],
        intent_logits: npt.NDArray[np.float32],
        attributions: Sequence[tuple[TokenAttributions, TokenAttributions]] | None = None,
    ) -> list[Prediction]:
        s_head, i_head = self._bundle.sentiment, self._bundle.intent
        s_probs = self._bundle.sentiment_probabilities(sentiment_logits, vectors, texts)
        i_probs = self._bundle.intent_probabilities(intent_logits, vectors)
        s_best, i_best = s_probs.argmax(axis=1), i_probs.argmax(axis=1)
        top_intents = np.argsort(-i_probs, axis=1, kind="stable")[:, :INTENT_CANDIDATES]
        halves = vectors.astype("<f2")
        return [
            Prediction(
                sentiment=s_head.labels[s],
                sentiment_confidence=float(s_probs[row, s]),
                intent=i_head.labels[i],
                intent_confidence=float(i_probs[row, i]),
                model_version=self._bundle.version,
                sentence_vector=SentenceVector(self._encoder_id, halves[row].tobytes()),
                sentiment_attributions=attributions[row][0] if attributions else (),
                intent_attributions=attributions[row][1] if attributions else (),
                intent_candidates=tuple(
                    (i_head.labels[c], float(i_probs[row, c])) for c in top_intents[row]
                ),
            )
            for row, (s, i) in enumerate(zip(s_best, i_best, strict=True))
        ]

    # -- explanations ------------------------------------------------------------------------

    def pieces(self, texts: Sequence[str]) -> list[Pieces]:
        """The word pieces of `texts`, as explanations and their evaluation remove them."""
        return self._pieces.pieces(texts)

    def served_probabilities(
        self, variants: Sequence[Variant]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Served (sentiment, intent) distributions of messages given as token ids plus text:
        the forward pass that serves plain requests, the heads and their blends. For a full
        message this is exactly what `classify` returns; for a reduced one, what it would
        return if the encoder saw only the remaining ids and the n-grams the remaining text."""
        _, _, _, s_probs, i_probs = self._score(variants)
        return s_probs, i_probs

    def _score(self, variants: Sequence[Variant]) -> tuple[npt.NDArray[np.float32], ...]:
        vectors = self._embed_ids([v.ids for v in variants])
        texts = [v.text for v in variants]
        s_logits = self._bundle.sentiment.logits(vectors)
        i_logits = self._bundle.intent.logits(vectors)
        return (
            vectors,
            s_logits,
            i_logits,
            self._bundle.sentiment_probabilities(s_logits, vectors, texts),
            self._bundle.intent_probabilities(i_logits, vectors),
        )

    def _embed_ids(self, ids: Sequence[Sequence[int]]) -> npt.NDArray[np.float32]:
        """Pooled vectors of token id lists on the serving forward path, in input order."""
        out = np.empty((len(ids), EMBEDDING_DIM), dtype=np.float32)
        forward = self._forward
        if isinstance(forward, Int8Encoder):
            runs = self._occlusion_runs
            assert runs is not None  # created with the int8 encoder in start()
            for row, vector in enumerate(runs.map(forward.embed_ids, ids)):
                out[row] = vector
            return out
        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, len(ids), self._max_batch):
            rows = order[start : start + self._max_batch]
            out[rows] = forward.embed_batch(self._tokens.pad([ids[i] for i in rows]))
        return out

    def _explain(self, texts: Sequence[str]) -> list[Prediction]:
        pieces = self._pieces.pieces(texts)
        if self._gradients is None:
            return self._explain_by_occlusion(texts, pieces)
        return self._explain_by_gradients(self._gradients, texts, pieces)

    def _explain_by_occlusion(
        self, texts: Sequence[str], pieces: Sequence[Pieces]
    ) -> list[Prediction]:
        """Weight of a piece: served probability of the served label, minus the same
        probability with that piece removed (ids and characters). Positive: the piece pushes
        towards the prediction."""
        variants: list[Variant] = []
        firsts: list[int] = []
        for p in pieces:
            firsts.append(len(variants))
            variants.append(p.full())
            variants.extend(p.without([i]) for i in p.content)
        vectors, s_logits, i_logits, s_probs, i_probs = self._score(variants)
        pairs = []
        for p, first in zip(pieces, firsts, strict=True):
            drops = slice(first + 1, first + 1 + len(p.content))
            weights = []
            for probs in (s_probs, i_probs):
                label = int(probs[first].argmax())
                weights.append(probs[first, label] - probs[drops, label])
            pairs.append(
                (
                    self._token_weights(p, weights[0]),
                    self._token_weights(p, weights[1]),
                )
            )
        full = np.asarray(firsts)
        return self._from_logits(texts, vectors[full], s_logits[full], i_logits[full], pairs)

    @property
    def _gradient_steps(self) -> int:
        return INTEGRATED_GRADIENT_STEPS if self._explain_method == "integrated_gradients" else 1

    def _explain_by_gradients(
        self, gradients: GradientAttributions, texts: Sequence[str], pieces: Sequence[Pieces]
    ) -> list[Prediction]:
        """Gradient attributions of the head's logit for the served label (the exemplar votes
        and n-grams that the served label also rests on are not differentiated)."""
        vectors, s_logits, i_logits, s_probs, i_probs = self._score([p.full() for p in pieces])
        targets = np.stack([s_probs.argmax(axis=1), i_probs.argmax(axis=1)], axis=1)
        steps = self._gradient_steps
        rows_per_pass = max(1, min(self._max_batch, EXPLAIN_ROWS_PER_PASS) // steps)
        order = np.argsort([len(p.ids) for p in pieces], kind="stable")
        pairs: list[tuple[TokenAttributions, TokenAttributions]] = [((), ())] * len(pieces)
        for start in range(0, len(pieces), rows_per_pass):
            rows = order[start : start + rows_per_pass]
            batch = self._tokens.pad([pieces[i].ids for i in rows])
            s_attr, i_attr = gradients.run(
                batch.input_ids, batch.attention_mask, targets[rows].astype(np.int32), steps
            )
            for r, row in enumerate(rows):
                content = list(pieces[row].content)
                pairs[row] = (
                    self._token_weights(pieces[row], s_attr[r, content]),
                    self._token_weights(pieces[row], i_attr[r, content]),
                )
        return self._from_logits(texts, vectors, s_logits, i_logits, pairs)

    def _token_weights(self, pieces: Pieces, weights: npt.NDArray[np.float32]) -> TokenAttributions:
        """(piece, weight) per content piece, scaled so the absolute weights sum to 1."""
        total = float(np.abs(weights).sum())
        scale = 1.0 / total if total > 0 else 0.0
        return tuple(
            (self._tokens.id_to_token(pieces.ids[i]), float(w) * scale)
            for i, w in zip(pieces.content, weights, strict=True)
        )


def _check_built_int8(
    bundle: ModelBundle, encoder: Int8Encoder, forward: ForwardPath, explain: ExplainMethod
) -> None:
    """A built int8 model serves the int8 path only, and only the adapters it was built with."""
    if forward == "float" or explain != "occlusion":
        raise ValueError(
            "the float path and gradient explanations run on TensorFlow: give the engine a "
            "SentenceEncoder, not an Int8Encoder"
        )
    expected = bundle.adapters.sha256 if bundle.adapters is not None else None
    if encoder.adapters_sha256 != expected:
        raise EncoderMismatch(
            f"bundle {bundle.version} needs adapters {expected}, but this int8 model was built "
            f"with {encoder.adapters_sha256}"
        )


def _merge_into_encoder(
    bundle: ModelBundle, encoder: SentenceEncoder, forward: ForwardPath
) -> bool:
    """Merge the bundle's adapters into `encoder` (once); True when it runs on a CPU."""
    on_cpu: bool = encoder.device == "/CPU:0"
    if forward == "int8" and not on_cpu:
        raise ValueError(
            f"forward='int8' runs on ONNX Runtime's CPU provider only, but the encoder is "
            f"on {encoder.device}; use 'float' or 'auto' there"
        )
    if bundle.adapters is None and encoder.adapters_sha256 is not None:
        raise EncoderMismatch(
            f"bundle {bundle.version} needs the base encoder, but this encoder carries "
            "fine-tuning adapters; give the engine a fresh SentenceEncoder"
        )
    if bundle.adapters is not None:
        if encoder.adapters_sha256 not in (None, bundle.adapters.sha256):
            raise EncoderMismatch(
                f"bundle {bundle.version}'s adapters differ from those already merged into "
                "this encoder; give the engine a fresh SentenceEncoder"
            )
        encoder.merge_adapters(bundle.adapters)  # once; a no-op for the same adapters
    return on_cpu


def _by_kind(batch: list[_Request]) -> tuple[dict[str, str], dict[str, str]]:
    """Texts by cache key: plain ones and ones to explain (an explained text is not rerun)."""
    explain: dict[str, str] = {}
    plain: dict[str, str] = {}
    for request in batch:
        for key, text in zip(request.keys, request.texts, strict=True):
            (explain if request.explain else plain)[key] = text
    for key in explain:
        plain.pop(key, None)
    return plain, explain


def _drop_expired(batch: list[_Request]) -> list[_Request]:
    """The requests still waited for; the others fail with DeadlineExpired, uncomputed."""
    live = []
    for request in batch:
        if request.expired():
            request.future.set_exception(DeadlineExpired("the caller's deadline passed"))
        else:
            live.append(request)
    return live


def _fail(batch: list[_Request], error: Exception) -> None:
    for request in batch:
        request.future.set_exception(error)
