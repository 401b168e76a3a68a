"""Frozen-encoder embeddings, cached on disk under the user cache (never in the repository)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)


class TextEncoder(Protocol):
    """What is cached: `textencoder.SentenceEncoder`, or the mpnet probe's encoder."""

    @property
    def weights_sha256(self) -> str: ...

    @property
    def max_length(self) -> int: ...

    def encode(self, texts: Sequence[str], batch_size: int = ...) -> npt.NDArray[np.float32]: ...


def cached_encode(
    encoder: TextEncoder,
    texts: Sequence[str],
    cache_dir: Path,
    *,
    name: str,
    batch_size: int = 64,
) -> npt.NDArray[np.float32]:
    """`encoder.encode(texts)`, memoised by encoder checksum, max_length and the exact texts."""
    digest = hashlib.sha256(f"{encoder.weights_sha256}:{encoder.max_length}".encode())
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little") + data)
    path = cache_dir / "embeddings" / f"{name}-{digest.hexdigest()[:20]}.npy"
    if path.is_file():
        log.info("embeddings for %s (%d texts) from cache %s", name, len(texts), path)
        return np.asarray(np.load(path), dtype=np.float32)
    log.info("embedding %s: %d texts", name, len(texts))
    vectors = encoder.encode(texts, batch_size=batch_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.npy")
    np.save(partial, vectors)
    partial.replace(path)
    return vectors
