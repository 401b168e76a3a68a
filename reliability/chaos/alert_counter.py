"""The alert service's count of messages, followed across its restarts on a thread."""

import threading
import time

from local.stack import Stack
from reliability.chaos.tally import CounterAcrossRestarts
from reliability.chaos.topics import alert_counted


class AlertCounter:
    """Scrapes carepulse_alert_messages_total every `interval_s`; `total` spans restarts.

    A kill -9 loses what the process counted after its last scrape: call `sample_now()`
    right before killing it, so that the blind spot is the few milliseconds in between.
    """

    def __init__(self, stack: Stack, interval_s: float = 0.25) -> None:
        self._stack = stack
        self._interval_s = interval_s
        self._counter = CounterAcrossRestarts()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-counter", daemon=True)

    def __enter__(self) -> "AlertCounter":
        self.sample_now()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def total(self) -> int:
        with self._lock:
            return self._counter.total

    def sample_now(self) -> None:
        value = alert_counted(self._stack)
        if value is not None:
            with self._lock:
                self._counter.observe(value)

    def wait_for(self, at_least: int, timeout_s: float, stable_s: float = 3.0) -> int:
        """The total once it reaches `at_least` and holds still `stable_s` (or at the timeout)."""
        deadline = time.monotonic() + timeout_s
        last, since = self.total, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.total
            if now != last:
                last, since = now, time.monotonic()
            elif now >= at_least and time.monotonic() - since >= stable_s:
                break
        return self.total

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.sample_now()
