"""all-mpnet-base-v2 on TensorFlow: mean-pooled, L2-normalised 768-d vectors.

What sentence-transformers runs for this model (Transformer -> mean pooling -> Normalize), with
the PyTorch-named safetensors copied into `transformers.TFMPNetModel`, so no PyTorch is needed.
A research encoder for `teacher_probe`; the classify service never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import tensorflow as tf
from tokenizers import Tokenizer

from textencoder.tokens import file_sha256
from training.classify.mpnet_package import WEIGHTS_FILE

EMBEDDING_DIM = 768
# Sorted batches pad to the next multiple of 8 tokens, as the served encoder's buckets do.
_BUCKET_STEP = 8
_TOKEN_SPEC = tf.TensorSpec(shape=[None, None], dtype=tf.int32)


class MPNetEncoder:
    """Texts in, unit-length (n, 768) float32 vectors out, in input order."""

    def __init__(self, model_dir: Path, *, max_length: int = 64) -> None:
        self.model_dir = model_dir
        self.max_length = max_length
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_length)
        self._pad_id = self._tokenizer.token_to_id("<pad>")
        self._model = _load_tf_mpnet(model_dir)
        self._pooled = tf.function(self._forward, input_signature=[_TOKEN_SPEC] * 2)

    @cached_property
    def weights_sha256(self) -> str:
        return file_sha256(self.model_dir / WEIGHTS_FILE)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """`<s> ... </s>` ids per text, truncated to `max_length`, unpadded."""
        return [e.ids for e in self._tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        """Batches of texts of similar length, each padded to its longest (rounded up to 8)."""
        ids = self.token_ids(texts)
        out = np.empty((len(ids), EMBEDDING_DIM), dtype=np.float32)
        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, len(ids), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._embed([ids[i] for i in rows])
        return out

    def _embed(self, ids: Sequence[Sequence[int]]) -> npt.NDArray[np.float32]:
        longest = max(len(x) for x in ids)
        width = min(self.max_length, -(-longest // _BUCKET_STEP) * _BUCKET_STEP)
        input_ids = np.full((len(ids), width), self._pad_id, dtype=np.int32)
        mask = np.zeros((len(ids), width), dtype=np.int32)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        pooled = self._pooled(tf.constant(input_ids), tf.constant(mask))
        return np.asarray(pooled.numpy(), dtype=np.float32)

    def _forward(self, input_ids: Any, attention_mask: Any) -> Any:
        hidden = self._model(
            input_ids=input_ids, attention_mask=attention_mask, training=False
        ).last_hidden_state
        mask = tf.expand_dims(tf.cast(attention_mask, tf.float32), -1)
        summed = tf.reduce_sum(hidden * mask, axis=1)
        counts = tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)
        return tf.math.l2_normalize(summed / counts, axis=1)


def _load_tf_mpnet(model_dir: Path) -> Any:
    """Build `TFMPNetModel` and copy the PyTorch-named safetensors weights into it."""
    from safetensors.numpy import load_file
    from transformers import MPNetConfig, TFMPNetModel
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model
    from transformers.utils import logging as hf_logging

    config = MPNetConfig.from_pretrained(str(model_dir))
    state = load_file(str(model_dir / WEIGHTS_FILE))
    state.pop("embeddings.position_ids", None)  # a buffer in PyTorch, not a weight
    previous_verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model, info = load_pytorch_state_dict_in_tf2_model(
            TFMPNetModel(config), state, output_loading_info=True
        )
    finally:
        hf_logging.set_verbosity(previous_verbosity)
    # The checkpoint has no pooler (sentence-transformers never used it); all else must fit.
    missing = [k for k in info["missing_keys"] if "pooler" not in k]
    if missing or info["mismatched_keys"]:
        raise RuntimeError(
            f"{model_dir} does not fit MPNet: missing={missing} "
            f"mismatched={info['mismatched_keys']}"
        )
    return model
