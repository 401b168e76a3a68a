"""`Int8Encoder`: the encoder's forward pass as a dynamic-range int8 TFLite model, for CPUs.

Dynamic-range quantization stores the weights of every dense layer as int8 and quantizes the
activations on the fly, per token row; layer norm, softmax and pooling stay float32. On a
2-core CPU this runs all-MiniLM-L6-v2 noticeably faster than the float32 TensorFlow graph, for
a cosine of ~0.998 to its vectors (see docs/performance.md for the measurements). The model is
converted from the live Keras weights, so merged adapters are part of it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import tensorflow as tf

from textencoder.encoder import EMBEDDING_DIM, TokenBatch

if TYPE_CHECKING:
    from textencoder.encoder import SentenceEncoder

_IDS_SPEC = tf.TensorSpec(shape=[None, None], dtype=tf.int32, name="input_ids")
_MASK_SPEC = tf.TensorSpec(shape=[None, None], dtype=tf.int32, name="attention_mask")
# Rows per interpreter call: 8 and 16 measured ~1.2x faster than 32 on 2 cores (less padding).
ROWS_PER_PASS = 16


class Int8Encoder:
    """Same contract as `SentenceEncoder.encode`, on an int8 TFLite interpreter (CPU only).

    Thread-safe: one interpreter, used under a lock.
    """

    def __init__(self, encoder: SentenceEncoder, *, num_threads: int | None = None) -> None:
        """Convert `encoder`'s current weights (tens of seconds of CPU on 2 cores)."""
        self._encoder = encoder
        function = tf.function(encoder.pooled, input_signature=[_IDS_SPEC, _MASK_SPEC])
        converter = tf.lite.TFLiteConverter.from_concrete_functions(
            [function.get_concrete_function()], encoder.keras_model
        )
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # dynamic-range int8 weights
        self.model_bytes: bytes = converter.convert()
        self.num_threads = num_threads or _cpu_threads()
        self._interpreter = tf.lite.Interpreter(
            model_content=self.model_bytes, num_threads=self.num_threads
        )
        inputs = {d["name"]: d["index"] for d in self._interpreter.get_input_details()}
        self._ids_index = next(i for name, i in inputs.items() if "input_ids" in name)
        self._mask_index = next(i for name, i in inputs.items() if "attention_mask" in name)
        self._output_index = self._interpreter.get_output_details()[0]["index"]
        self._shape: tuple[int, ...] = ()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        """Embed `texts` into an (n, 384) float32 array of unit vectors, in input order.

        Texts are sorted by token count and run in passes of at most `ROWS_PER_PASS` rows, each
        padded to the smallest bucket that fits: the int8 kernels gain little from more rows,
        while fewer rows pad less.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        ids = self._encoder.token_ids(texts)
        order = np.argsort([len(x) for x in ids], kind="stable")
        rows_per_pass = min(batch_size, ROWS_PER_PASS)
        for start in range(0, len(ids), rows_per_pass):
            rows = order[start : start + rows_per_pass]
            out[rows] = self.embed_batch(self._encoder.pad([ids[i] for i in rows]))
        return out

    def embed_batch(self, batch: TokenBatch) -> npt.NDArray[np.float32]:
        """One forward pass over an already padded batch."""
        shape = batch.input_ids.shape
        with self._lock:
            interpreter = self._interpreter
            if shape != self._shape:  # a new (batch, bucket) shape: re-plan the buffers
                interpreter.resize_tensor_input(self._ids_index, shape)
                interpreter.resize_tensor_input(self._mask_index, shape)
                interpreter.allocate_tensors()
                self._shape = shape
            interpreter.set_tensor(self._ids_index, batch.input_ids)
            interpreter.set_tensor(self._mask_index, batch.attention_mask)
            interpreter.invoke()
            return np.array(interpreter.get_tensor(self._output_index), dtype=np.float32)

    def warm_up(self, batch_size: int = 1) -> None:
        """Run one batch per length bucket, so the first request pays no start-up cost."""
        for width in self._encoder.length_buckets:
            ids = np.zeros((batch_size, width), dtype=np.int32)
            ids[:, 0], ids[:, -1] = 101, 102
            self.embed_batch(TokenBatch(ids, np.ones_like(ids), np.full(batch_size, width)))


def _cpu_threads() -> int:
    configured = int(tf.config.threading.get_intra_op_parallelism_threads())
    return configured if configured > 0 else len(os.sched_getaffinity(0))
