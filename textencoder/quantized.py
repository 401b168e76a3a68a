"""`Int8Encoder`: the encoder's forward pass as a dynamic int8 ONNX Runtime model, for CPUs.

Dynamic quantization stores the weights of every dense and attention projection as int8 (one
scale per output channel) and quantizes activations on the fly; layer norm, softmax, GELU and
pooling stay float32. On a 2-core CPU this runs all-MiniLM-L6-v2 well ahead of the float32
TensorFlow graph and of PyTorch, at a cosine of ~0.99 to the float vectors and the same
classification accuracy (docs/performance.md has the measurements). The graph is exported
from the live Keras weights, so merged adapters are part of it.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic

from textencoder.encoder import EMBEDDING_DIM, TokenBatch
from textencoder.onnx_export import ATTENTION_MASK, INPUT_IDS, POOLED, export_pooled_encoder

if TYPE_CHECKING:
    from textencoder.encoder import SentenceEncoder


class Int8Encoder:
    """Same contract as `SentenceEncoder.encode`, on an int8 ONNX Runtime session (CPU only).

    Thread-safe: ONNX Runtime sessions accept concurrent `run` calls.
    """

    def __init__(self, encoder: SentenceEncoder, *, num_threads: int | None = None) -> None:
        """Export and quantize `encoder`'s current weights (a few seconds on 2 cores)."""
        self._encoder = encoder
        self.model_bytes: bytes = quantize_int8(export_pooled_encoder(encoder.keras_model))
        self.num_threads = num_threads or _cpu_threads()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle pool threads would otherwise spin and take CPU from tokenizing and gRPC.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            self.model_bytes, options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        """Embed `texts` into an (n, 384) float32 array of unit vectors, in input order.

        Texts are sorted by token count and run in passes of `batch_size` rows, each padded to
        the smallest length bucket that fits it.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        ids = self._encoder.token_ids(texts)
        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, len(ids), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self.embed_batch(self._encoder.pad([ids[i] for i in rows]))
        return out

    def embed_batch(self, batch: TokenBatch) -> npt.NDArray[np.float32]:
        """One forward pass over an already padded batch."""
        feeds = {INPUT_IDS: batch.input_ids, ATTENTION_MASK: batch.attention_mask}
        (pooled,) = self._session.run([POOLED], feeds)
        return np.asarray(pooled, dtype=np.float32)

    def warm_up(self, batch_size: int = 1) -> None:
        """Run one batch per length bucket, so the first request pays no start-up cost."""
        for width in self._encoder.length_buckets:
            ids = np.zeros((batch_size, width), dtype=np.int32)
            ids[:, 0], ids[:, -1] = 101, 102
            self.embed_batch(TokenBatch(ids, np.ones_like(ids), np.full(batch_size, width)))


def quantize_int8(model: onnx.ModelProto) -> bytes:
    """Dynamic int8 quantization of every MatMul and Attention, per output channel.

    Per-channel weight scales keep the vectors at a cosine of ~0.99 to float32, where one scale
    per tensor measured ~0.98 on the same texts.
    """
    # The quantizer logs one INFO line per fused op straight on the root logger.
    root_logger = logging.getLogger()
    root_logger.addFilter(_drop_quantizer_chatter)
    try:
        return _quantize(model)
    finally:
        root_logger.removeFilter(_drop_quantizer_chatter)


def _quantize(model: onnx.ModelProto) -> bytes:
    with tempfile.TemporaryDirectory(prefix="carepulse-int8-") as workdir:
        output = Path(workdir) / "int8.onnx"
        quantize_dynamic(
            model,
            output,
            per_channel=True,
            weight_type=QuantType.QInt8,
            # The fused ops' outputs have no inferred type; they are all float32.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        return output.read_bytes()


def _drop_quantizer_chatter(record: logging.LogRecord) -> bool:
    return not (record.levelno < logging.WARNING and "onnxruntime" in record.pathname)


def _cpu_threads() -> int:
    return len(os.sched_getaffinity(0))
