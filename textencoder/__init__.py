"""Sentence embeddings from all-MiniLM-L6-v2 on TensorFlow, shared by classify and recommend."""

from textencoder.adapters import AdapterError, EncoderAdapters
from textencoder.encoder import (
    DEFAULT_MODEL_NAME,
    EncoderLoadError,
    SentenceEncoder,
    TokenBatch,
    configure_tf_threads,
    default_model_dir,
)

__all__ = [
    "DEFAULT_MODEL_NAME",
    "AdapterError",
    "EncoderAdapters",
    "EncoderLoadError",
    "SentenceEncoder",
    "TokenBatch",
    "configure_tf_threads",
    "default_model_dir",
]
