"""De-duplication of retried messages: stable ids plus a bounded memory of recent keys."""

import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

# Fixed forever: changing it would give every retried message a new id downstream.
_MESSAGE_ID_NAMESPACE = uuid.UUID("5d0c3f4e-8a61-4f0e-9c55-2f7b1a6e4c21")


def message_id_for(source: str, external_id: str | None) -> str:
    """A UUIDv5 of (source, external_id) when the source gave an id, a random UUIDv4 otherwise.

    Derived ids survive an ingest restart, which empties the in-memory window: the retry
    still gets the same id, and consumers de-duplicate by it.
    """
    if external_id is None:
        return str(uuid.uuid4())
    # JSON keeps ("a:b", "c") and ("a", "b:c") apart, whatever characters the ids use.
    return str(uuid.uuid5(_MESSAGE_ID_NAMESPACE, json.dumps([source, external_id])))


class DuplicateWindow:
    """Remembers (source, external_id) -> message_id for `window_s` seconds after first sight.

    Memory is bounded by `max_entries`: when full, the oldest key is forgotten early, so a
    flood of distinct ids can weaken de-duplication but never exhaust memory. Safe to call
    from several threads.
    """

    def __init__(
        self,
        window_s: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, got {window_s}")
        if max_entries <= 0:
            raise ValueError(f"max_entries must be positive, got {max_entries}")
        self._window_s = window_s
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        # Insertion order is first-seen order, so the front is always the next to expire.
        self._first_seen: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()

    def seen_or_remember(self, source: str, external_id: str, message_id: str) -> str | None:
        """Return the earlier message_id if this key was seen within the window; else
        remember it under `message_id` and return None."""
        key = (source, external_id)
        with self._lock:
            now = self._clock()
            self._forget_expired(now)
            earlier = self._first_seen.get(key)
            if earlier is not None:
                return earlier[0]
            self._first_seen[key] = (message_id, now)
            if len(self._first_seen) > self._max_entries:
                self._first_seen.popitem(last=False)
            return None

    def forget(self, source: str, external_id: str) -> None:
        """Drop a key remembered for a message that was then not published, so that the
        client's retry is treated as new rather than silently skipped."""
        with self._lock:
            self._first_seen.pop((source, external_id), None)

    def __len__(self) -> int:
        """Keys currently remembered, e.g. for a gauge."""
        with self._lock:
            return len(self._first_seen)

    def _forget_expired(self, now: float) -> None:
        while self._first_seen:
            _, first_seen_at = next(iter(self._first_seen.values()))
            if now - first_seen_at < self._window_s:
                return
            self._first_seen.popitem(last=False)
