"""The ranker over the knowledge base, with vectors from the encoder classify serves.

Recommend holds no encoder: the knowledge base's vectors come from classify (`Embedder`), are
cached on disk by (encoder id, texts checksum), and a background thread loads them, retrying
with backoff while classify starts. Until then the index is not ready (the service reports
NOT_SERVING). A query vector from another encoder is refused (`ForeignEncoder`) and wakes the
loader: when classify now serves a new bundle, its vectors replace the old ones within seconds
(a refresh at most every `refresh_min_interval_s`, so replicas of two bundles side by side
during a rollout cannot make it thrash).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from servicekit.backoff import Backoff
from services.recommend.embeddings import build_ranker, knowledge_base_texts, texts_checksum
from services.recommend.knowledge_base import Article, knowledge_base_version
from services.recommend.ranker import SuggestionRanker
from services.recommend.vector_cache import VectorCache
from services.recommend.vectors import ForeignEncoder

log = logging.getLogger(__name__)

# Classify takes tens of seconds to start: retry soon at first, then every few seconds.
_RETRY_INITIAL_S = 0.5
_RETRY_MAX_S = 5.0


class IndexNotLoaded(RuntimeError):
    """The knowledge base's vectors are not loaded yet (classify not reachable so far)."""


class EmbeddingUnavailable(RuntimeError):
    """The embedder could not answer now (classify down, overloaded, slow); worth retrying."""


@dataclass(frozen=True, eq=False)
class EmbeddedTexts:
    encoder_id: str
    vectors: npt.NDArray[np.float32]  # (texts, dim), in the order of the texts


class Embedder(Protocol):
    def encoder_id(self) -> str:
        """The encoder that would embed texts now."""
        ...

    def embed(self, texts: Sequence[str]) -> EmbeddedTexts: ...


@dataclass(frozen=True, eq=False)
class LoadedIndex:
    encoder_id: str
    ranker: SuggestionRanker


class KnowledgeIndex:
    def __init__(
        self,
        articles: Sequence[Article],
        embedder: Embedder,
        cache: VectorCache,
        *,
        refresh_min_interval_s: float,
    ) -> None:
        self._articles = list(articles)
        self._texts = knowledge_base_texts(articles)
        self._checksum = texts_checksum(self._texts)
        self._embedder = embedder
        self._cache = cache
        self._refresh_min_interval_s = refresh_min_interval_s
        self.version = knowledge_base_version(articles)  # of the articles, for traces
        self._loaded: LoadedIndex | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._loader = threading.Thread(target=self._run, name="recommend-kb-vectors", daemon=True)

    def start(self) -> None:
        """Start loading in the background; `ready` turns True once loaded."""
        self._wake.set()
        self._loader.start()

    def stop(self) -> None:
        """The loader exits at its next wait; a call to classify in flight ends with its channel."""
        self._stopping.set()
        self._wake.set()

    @property
    def ready(self) -> bool:
        return self._loaded is not None

    def serving(self, encoder_id: str) -> LoadedIndex:
        """The index for vectors of `encoder_id`: IndexNotLoaded before the first load,
        ForeignEncoder (and a refresh) when it is loaded for another encoder."""
        loaded = self._loaded
        if loaded is None:
            raise IndexNotLoaded("the knowledge base's vectors are not loaded yet")
        if encoder_id != loaded.encoder_id:
            self._wake.set()
            raise ForeignEncoder(encoder_id, loaded.encoder_id)
        return loaded

    def load(self) -> LoadedIndex:
        """One attempt: the vectors for the encoder classify serves now, from the cache or from
        classify. Raises EmbeddingUnavailable when classify cannot answer."""
        encoder_id = self._embedder.encoder_id()
        loaded = self._loaded
        if loaded is not None and loaded.encoder_id == encoder_id:
            return loaded
        vectors = self._cache.load(encoder_id, self._checksum, len(self._texts))
        if vectors is None:
            embedded = self._embedder.embed(self._texts)
            encoder_id, vectors = embedded.encoder_id, embedded.vectors
            self._store(encoder_id, vectors)
        loaded = LoadedIndex(encoder_id, build_ranker(self._articles, vectors))
        self._loaded = loaded
        log.info(
            "knowledge base vectors loaded",
            extra={"encoder_id": encoder_id, "texts": len(self._texts), "index": self.version},
        )
        return loaded

    def _store(self, encoder_id: str, vectors: npt.NDArray[np.float32]) -> None:
        try:
            self._cache.store(encoder_id, self._checksum, vectors)
        except OSError as error:
            # Only the next start is slower: the vectors in hand serve all the same.
            log.warning("knowledge base vectors not cached", extra={"error": str(error)})

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stopping.is_set():
                return
            self._wake.clear()
            backoff = Backoff(_RETRY_INITIAL_S, _RETRY_MAX_S)
            while not self._stopping.is_set():
                try:
                    self.load()
                    break
                except EmbeddingUnavailable as error:
                    delay_s = backoff.next_delay_s()
                    log.warning(
                        "classify cannot embed the knowledge base yet; retrying",
                        extra={"error": str(error), "retry_in_s": round(delay_s, 2)},
                    )
                    self._stopping.wait(delay_s)
            self._stopping.wait(self._refresh_min_interval_s)
