"""`Int8Encoder`: the encoder's forward pass as a dynamic int8 ONNX Runtime model, for CPUs.

Dynamic quantization stores the word embeddings and the weights of the dense and attention
projections as int8 (one scale per output channel) and quantizes activations on the fly; layer
norm, softmax, GELU and pooling stay float32 (as may the first blocks, `FLOAT_LAYERS`). On a
2-core CPU this runs all-MiniLM-L6-v2 well ahead of the float32 TensorFlow graph and of
PyTorch (docs/performance.md has the measurements).

This module only runs a built model: numpy, ONNX Runtime and the tokenizer, no TensorFlow.
The model is exported from the live Keras weights (merged adapters included) and quantized by
`textencoder.build_int8`; `textencoder.int8_cache` keeps it on disk, built in a subprocess.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from textencoder.tokens import EMBEDDING_DIM, WordPieces

# The model's inputs and output, as `textencoder.onnx_export` names them. Kept here, so that
# serving does not import the `onnx` package (~11 MB) just for three names.
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
POOLED = "pooled"

# Blocks kept float32, counted from the first, whose quantization error every later block
# carries. Mean cosine to the float32 vectors (600 benchmark messages): all blocks int8 0.993,
# block 0 float32 0.995, blocks 0-1 0.996, for ~12% and ~25% more CPU per message. Its intent
# gain (about +0.003 on 1,003 held-out messages, in an earlier build) is inside that split's
# noise, so none is the default (docs/classify-model.md: accuracy; docs/performance.md: speed).
FLOAT_LAYERS = 0


class Int8Encoder:
    """Same contract as `SentenceEncoder.encode`, on an int8 ONNX Runtime session (CPU only).

    Thread-safe: ONNX Runtime sessions accept concurrent `run` calls.
    """

    def __init__(
        self,
        model: bytes,
        tokens: WordPieces,
        *,
        weights_sha256: str,
        adapters_sha256: str | None,
        num_threads: int | None = None,
    ) -> None:
        """Serve `model` (a quantized ONNX model's bytes) built from the base weights with
        sha256 `weights_sha256` and the adapters with fingerprint `adapters_sha256` merged."""
        self.tokens = tokens
        self.weights_sha256 = weights_sha256
        self.adapters_sha256 = adapters_sha256
        self.num_threads = num_threads or _cpu_threads()
        options = ort.SessionOptions()
        # One thread per run; runs go side by side instead (see `encode`).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self._runs = ThreadPoolExecutor(self.num_threads, thread_name_prefix="int8-encode")

    @property
    def dim(self) -> int:
        return EMBEDDING_DIM

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        """Embed `texts` into an (n, 384) float32 array of unit vectors, in input order.

        One run per text, unpadded: dynamic quantization scales activations per tensor, so a
        run of one text keeps its vector independent of whatever else is being embedded, and
        pays for no padding. Runs go side by side on `num_threads` single-threaded workers,
        which on 2 cores beats one run split over both (small matrices wait on sync).
        `batch_size` is accepted for the `SentenceEncoder.encode` contract.
        """
        return self.encode_ids(self.tokens.token_ids(texts), batch_size)

    def encode_ids(
        self, ids: Sequence[Sequence[int]], batch_size: int = 32
    ) -> npt.NDArray[np.float32]:
        """`encode` of texts already split by `WordPieces.token_ids`."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = np.empty((len(ids), EMBEDDING_DIM), dtype=np.float32)

        def embed(row: int) -> None:
            out[row] = self.embed_ids(ids[row])

        # Longest first, one task per text: the workers finish together.
        order = np.argsort([-len(x) for x in ids], kind="stable")
        for done in [self._runs.submit(embed, int(row)) for row in order]:
            done.result()
        return out

    def embed_ids(self, token_ids: Sequence[int]) -> npt.NDArray[np.float32]:
        """The (384,) vector of one text's token ids, run alone."""
        row = np.asarray([token_ids], dtype=np.int32)
        (pooled,) = self._session.run([POOLED], {INPUT_IDS: row, ATTENTION_MASK: np.ones_like(row)})
        return np.asarray(pooled[0], dtype=np.float32)

    def warm_up(self, batch_size: int = 1) -> None:
        """Run each length bucket once, so the first request pays no start-up cost."""
        del batch_size  # runs are one text each
        for width in self.tokens.length_buckets:
            self.embed_ids([101, *([1037] * (width - 2)), 102])


def _cpu_threads() -> int:
    return len(os.sched_getaffinity(0))
