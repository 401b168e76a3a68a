"""Sentence embeddings from all-MiniLM-L6-v2, shared by classify and its training.

Importing the package does not import TensorFlow: the tokenizer, adapters and int8 ONNX
Runtime path are light, and a process that serves int8 never needs more. `SentenceEncoder`
and `configure_tf_threads` (TensorFlow) are resolved on first access.
"""

from typing import TYPE_CHECKING, Any

from textencoder.adapters import AdapterError, EncoderAdapters
from textencoder.tokens import (
    DEFAULT_MODEL_NAME,
    EncoderLoadError,
    TokenBatch,
    WordPieces,
    default_model_dir,
)

if TYPE_CHECKING:
    from textencoder.encoder import SentenceEncoder, configure_tf_threads

__all__ = [
    "DEFAULT_MODEL_NAME",
    "AdapterError",
    "EncoderAdapters",
    "EncoderLoadError",
    "SentenceEncoder",
    "TokenBatch",
    "WordPieces",
    "configure_tf_threads",
    "default_model_dir",
]

_TENSORFLOW_NAMES = ("SentenceEncoder", "configure_tf_threads")


def __getattr__(name: str) -> Any:
    """Loads `textencoder.encoder` (and TensorFlow) on the first use of one of its names."""
    if name in _TENSORFLOW_NAMES:
        from textencoder import encoder

        return getattr(encoder, name)
    raise AttributeError(f"module 'textencoder' has no attribute {name!r}")
