"""`ClassifyModel`: texts -> sentence vectors (the encoder) -> each task's served distribution
(the bundle's pipelines) -> `Prediction`s.

The forward pass (`forward`) is the float TensorFlow graph in batches of up to `max_batch` texts
padded to length buckets (float16 compute where the encoder uses mixed precision), or an int8
ONNX Runtime copy of the encoder, one text per run (CPU only). "auto" picks int8 on a CPU and
float on a GPU; naming one lets tests run the GPU's float path on a CPU. Given an `Int8Encoder`
(the service on a CPU: `textencoder.int8_cache`), the model serves int8 and never imports
TensorFlow; given a `SentenceEncoder`, it builds the int8 copy in-process when the int8 path is
chosen.

A bundle with encoder adapters has them merged into the encoder's weights when the model is
built, so the forward pass is the plain encoder graph; give each model its own encoder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from services.classify.bundle import EncoderMismatch, ModelBundle
from services.classify.prediction import Prediction, SentenceVector, TokenAttributions
from textencoder.quantized import Int8Encoder
from textencoder.tokens import EMBEDDING_DIM, WordPieces

if TYPE_CHECKING:  # imports TensorFlow; only the float and gradient paths load it
    from textencoder.encoder import SentenceEncoder

# Enough for recommend to hedge between confusable intents; the rest carry ~no mass.
INTENT_CANDIDATES = 5

ForwardPath = Literal["auto", "float", "int8"]
Distributions = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]  # sentiment, intent


def encoder_id(bundle: ModelBundle) -> str:
    """Names the encoder weights a bundle serves: its base checkpoint with its adapters merged.

    Two bundles with the same base and adapters (new heads only) embed alike and share it; a
    forward path does not enter it (int8 and float vectors of one encoder rank alike:
    docs/recommend.md).
    """
    weights = f"{bundle.encoder_sha256}+{bundle.adapters.sha256 if bundle.adapters else ''}"
    digest = hashlib.sha256(weights.encode("ascii")).hexdigest()[:16]
    return f"{bundle.encoder_name.rsplit('/', 1)[-1]}:{digest}"


class ClassifyModel:
    def __init__(
        self,
        bundle: ModelBundle,
        encoder: SentenceEncoder | Int8Encoder,
        *,
        forward: ForwardPath = "auto",
        max_batch: int = 32,
    ) -> None:
        if forward not in get_args(ForwardPath):
            raise ValueError(f"forward must be one of {get_args(ForwardPath)}, got {forward!r}")
        if encoder.weights_sha256 != bundle.encoder_sha256:
            raise EncoderMismatch(
                f"bundle {bundle.version} needs encoder sha256={bundle.encoder_sha256}, "
                f"got {encoder.weights_sha256} from {encoder.tokens.model_dir}"
            )
        if isinstance(encoder, Int8Encoder):
            _check_built_int8(bundle, encoder, forward)
            on_cpu = True
        else:
            on_cpu = _merge_into_encoder(bundle, encoder, forward)
        self.bundle = bundle
        self.encoder = encoder  # as given: the float encoder explanations by gradient need
        self.tokens: WordPieces = encoder.tokens
        self.encoder_id = encoder_id(bundle)
        self.forward_path: Literal["float", "int8"] = (
            "int8" if forward == "int8" or (forward == "auto" and on_cpu) else "float"
        )
        self._max_batch = max_batch
        # The int8 path swaps in an int8 copy of the encoder in start().
        self._forward: SentenceEncoder | Int8Encoder = encoder
        self._int8_runs: ThreadPoolExecutor | None = None  # int8 runs side by side
        self._blas_limit: threadpool_limits | None = None

    @property
    def texts_per_pass(self) -> int:
        """Texts one encoder invocation takes: int8 runs are one text each."""
        return 1 if isinstance(self._forward, Int8Encoder) else self._max_batch

    def start(self) -> None:
        """Load the serving forward path and trace every length bucket."""
        if self.forward_path == "int8":
            int8 = self.encoder if isinstance(self.encoder, Int8Encoder) else self.encoder.int8()
            self._forward = int8
            # The int8 workers already use every core; a multi-threaded BLAS in the finisher's
            # head and exemplar matmuls would only spin against them (measured: ~9% fewer
            # messages/s on 2 cores).
            self._blas_limit = threadpool_limits(1, user_api="blas")
            self._int8_runs = ThreadPoolExecutor(
                int8.num_threads, thread_name_prefix="classify-int8-runs"
            )
        self._forward.warm_up(batch_size=self._max_batch)

    def close(self) -> None:
        if self._int8_runs is not None:
            self._int8_runs.shutdown(wait=True)
        if self._blas_limit is not None:
            self._blas_limit.restore_original_limits()

    def tracing_count(self) -> int:
        """How often the encoder graph was traced (stays put after start); 0 for a built
        `Int8Encoder`: ONNX Runtime traces nothing."""
        if isinstance(self.encoder, Int8Encoder):
            return 0
        return int(self.encoder.pooled_function.experimental_get_tracing_count())

    def encode_ids(self, ids: list[list[int]]) -> npt.NDArray[np.float32]:
        """Sentence vectors of tokenized texts, on the serving forward path."""
        return self._forward.encode_ids(ids, batch_size=self._max_batch)

    def embed_ids(self, ids: Sequence[Sequence[int]]) -> npt.NDArray[np.float32]:
        """Pooled vectors of token id lists of any length (explanations' reduced messages),
        on the serving forward path, in input order."""
        out = np.empty((len(ids), EMBEDDING_DIM), dtype=np.float32)
        forward = self._forward
        if isinstance(forward, Int8Encoder):
            runs = self._int8_runs
            assert runs is not None  # created with the int8 encoder in start()
            for row, vector in enumerate(runs.map(forward.embed_ids, ids)):
                out[row] = vector
            return out
        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, len(ids), self._max_batch):
            rows = order[start : start + self._max_batch]
            out[rows] = forward.embed_batch(self.tokens.pad([ids[i] for i in rows]))
        return out

    def distributions(
        self, vectors: npt.NDArray[np.float32], texts: Sequence[str]
    ) -> Distributions:
        """Served (sentiment, intent) distributions: each task's pipeline."""
        return (
            self.bundle.sentiment.probabilities(vectors, texts),
            self.bundle.intent.probabilities(vectors, texts),
        )

    def score_ids(
        self, ids: Sequence[Sequence[int]], texts: Sequence[str]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """(vectors, sentiment, intent) of messages given as token ids plus text: for a full
        message what `classify` serves; for a reduced one, what it would serve if the encoder
        saw only the remaining ids and the n-grams the remaining text."""
        vectors = self.embed_ids(ids)
        return (vectors, *self.distributions(vectors, texts))

    def predict(self, vectors: npt.NDArray[np.float32], texts: Sequence[str]) -> list[Prediction]:
        return self.predictions(vectors, *self.distributions(vectors, texts))

    def predictions(
        self,
        vectors: npt.NDArray[np.float32],
        sentiment: npt.NDArray[np.float32],
        intent: npt.NDArray[np.float32],
        attributions: Sequence[tuple[TokenAttributions, TokenAttributions]] | None = None,
    ) -> list[Prediction]:
        """One `Prediction` per row of served distributions (and attributions, if any)."""
        s_labels, i_labels = self.bundle.sentiment.labels, self.bundle.intent.labels
        s_best, i_best = sentiment.argmax(axis=1), intent.argmax(axis=1)
        top_intents = np.argsort(-intent, axis=1, kind="stable")[:, :INTENT_CANDIDATES]
        halves = vectors.astype("<f2")
        return [
            Prediction(
                sentiment=s_labels[s],
                sentiment_confidence=float(sentiment[row, s]),
                intent=i_labels[i],
                intent_confidence=float(intent[row, i]),
                model_version=self.bundle.version,
                sentence_vector=SentenceVector(self.encoder_id, halves[row].tobytes()),
                sentiment_attributions=attributions[row][0] if attributions else (),
                intent_attributions=attributions[row][1] if attributions else (),
                intent_candidates=tuple(
                    (i_labels[c], float(intent[row, c])) for c in top_intents[row]
                ),
            )
            for row, (s, i) in enumerate(zip(s_best, i_best, strict=True))
        ]


def _check_built_int8(bundle: ModelBundle, encoder: Int8Encoder, forward: ForwardPath) -> None:
    """A built int8 model serves the int8 path only, and only the adapters it was built with."""
    if forward == "float":
        raise ValueError(
            "the float path runs on TensorFlow: give the model a SentenceEncoder, not an "
            "Int8Encoder"
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
