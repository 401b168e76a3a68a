"""The knowledge base's vectors on disk, keyed by encoder and by the texts embedded.

A restart with the same classify encoder and the same articles loads ~0.5 MB instead of asking
classify to embed ~700 texts again; a new bundle's encoder or any change to the articles is
another key, so stale vectors are never read. Each file also records its key, checked on load.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)


class VectorCache:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def load(
        self, encoder_id: str, texts_checksum: str, rows: int
    ) -> npt.NDArray[np.float32] | None:
        """The vectors stored for this key, or None (never stored, or unreadable: recomputed)."""
        path = self._path(encoder_id, texts_checksum)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                key = (str(stored["encoder_id"]), str(stored["texts_checksum"]))
                vectors = np.asarray(stored["vectors"], dtype=np.float32)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            log.warning(
                "unreadable vector cache file; recomputing",
                extra={"path": str(path), "error": str(error)},
            )
            return None
        if key != (encoder_id, texts_checksum) or vectors.ndim != 2 or len(vectors) != rows:
            log.warning(
                "vector cache file holds another key; recomputing", extra={"path": str(path)}
            )
            return None
        return vectors

    def store(
        self, encoder_id: str, texts_checksum: str, vectors: npt.NDArray[np.floating]
    ) -> None:
        """Write atomically (another process may read the same folder); float16 loses nothing,
        since classify sends half floats."""
        self._directory.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=self._directory, prefix=".kb-", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                np.savez(
                    file,
                    vectors=np.asarray(vectors, dtype=np.float16),
                    encoder_id=np.array(encoder_id),
                    texts_checksum=np.array(texts_checksum),
                )
            os.replace(temporary, self._path(encoder_id, texts_checksum))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _path(self, encoder_id: str, texts_checksum: str) -> Path:
        encoder = hashlib.sha256(encoder_id.encode("utf-8")).hexdigest()[:16]
        return self._directory / f"kb-{texts_checksum[:16]}-{encoder}.npz"
