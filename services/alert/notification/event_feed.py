"""Wakes alert streams when a lifecycle event commits, instead of having each one poll."""

import threading
from collections.abc import Callable


class EventFeed:
    """The newest committed outbox sequence, and a condition to wait for a newer one."""

    def __init__(self, latest_sequence: int = 0) -> None:
        self._condition = threading.Condition()
        self._latest = latest_sequence
        self._closed = False
        self._listeners: list[Callable[[], None]] = []

    @property
    def closed(self) -> bool:
        return self._closed

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Called after each newer commit, e.g. to wake the outbox relay."""
        self._listeners.append(listener)

    def committed(self, sequence: int) -> None:
        with self._condition:
            if sequence <= self._latest:
                return
            self._latest = sequence
            self._condition.notify_all()
        for listener in self._listeners:
            listener()

    def wait_beyond(
        self, sequence: int, timeout_s: float, give_up: Callable[[], bool] = lambda: False
    ) -> bool:
        """True once an event after `sequence` exists; False on timeout, close or give_up()."""
        with self._condition:
            self._condition.wait_for(
                lambda: self._latest > sequence or self._closed or give_up(), timeout_s
            )
            return self._latest > sequence

    def wake_waiters(self) -> None:
        """Make waiters re-check their give_up(), e.g. when a client cancelled its stream."""
        with self._condition:
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
