"""A bound on concurrent StreamAlerts calls, so open streams never take every gRPC thread.

The sync gRPC server runs each call on a thread of one pool; a stream holds its thread for as
long as the client listens. Refusing streams beyond the bound keeps threads free for the unary
calls (ListAlerts, Acknowledge, health) however many gateways follow alerts.
"""

import threading
from collections.abc import Callable

from services.alert.metrics import OPEN_STREAMS


class StreamSlots:
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self._limit = limit
        self._in_use = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> Callable[[], None] | None:
        """A release function for a free slot (safe to call more than once), or None if full."""
        with self._lock:
            if self._in_use >= self._limit:
                return None
            self._in_use += 1
        OPEN_STREAMS.inc()
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if released.is_set():
                    return
                released.set()
                self._in_use -= 1
            OPEN_STREAMS.dec()

        return release

    @property
    def in_use(self) -> int:
        with self._lock:
            return self._in_use
