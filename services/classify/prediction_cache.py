"""`PredictionCache`: an LRU of predictions by the sha256 of the text.

A message classified on the chat path is not recomputed on the Kafka path. Each entry keeps
the plain prediction and, once computed, the explained one, so a later plain request for an
explained text is a hit too.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.classify.metrics import CACHE_HITS, CACHE_MISSES
from services.classify.prediction import Prediction


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    plain: Prediction  # without attributions
    explained: Prediction | None  # with attributions, when they were computed

    def pick(self, explain: bool) -> Prediction:
        if explain and self.explained is None:
            raise LookupError("no explanation was computed for this text")
        return self.explained if explain and self.explained is not None else self.plain


class PredictionCache:
    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"cache size must be >= 0, got {size}")
        self._size = size
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def lookup(
        self, keys: Sequence[str], explain: bool
    ) -> tuple[list[Prediction | None], list[int]]:
        """Cached predictions by position (None where missing), and the missing positions."""
        results: list[Prediction | None] = [None] * len(keys)
        missing: list[int] = []
        with self._lock:
            for i, key in enumerate(keys):
                entry = self._entries.get(key)
                hit = entry.explained if (entry and explain) else (entry and entry.plain)
                if hit:
                    self._entries.move_to_end(key)
                    results[i] = hit
                else:
                    missing.append(i)
            self.hits += len(keys) - len(missing)
            self.misses += len(missing)
        CACHE_HITS.inc(len(keys) - len(missing))
        CACHE_MISSES.inc(len(missing))
        return results, missing

    def store(self, entries: Mapping[str, CacheEntry]) -> None:
        if not self._size:
            return
        with self._lock:
            for key, entry in entries.items():
                self._entries[key] = entry
                self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
