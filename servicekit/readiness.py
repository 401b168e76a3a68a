"""Readiness from real checks (model loaded, Kafka reachable), re-evaluated in the background."""

import logging
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

Check = Callable[[], bool]


class Readiness:
    def __init__(
        self,
        checks: Mapping[str, Check],
        on_change: Callable[[bool], None],
        interval_s: float = 2.0,
    ) -> None:
        self._checks = dict(checks)
        self._on_change = on_change
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._ready = False
        self._thread = threading.Thread(target=self._loop, name="readiness", daemon=True)

    @property
    def ready(self) -> bool:
        return self._ready

    def start(self) -> None:
        self.evaluate()
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def evaluate(self) -> bool:
        failing = [name for name, check in self._checks.items() if not _passes(name, check)]
        ready = not failing
        if ready != self._ready:
            log.info("readiness changed", extra={"ready": ready, "failing": failing})
            self._ready = ready
            self._on_change(ready)
        return ready

    def _loop(self) -> None:
        while not self._stopping.wait(self._interval_s):
            self.evaluate()


def _passes(name: str, check: Check) -> bool:
    try:
        return check()
    except Exception:  # a check that raises is a failing check, not a crashed service
        log.exception("readiness check raised", extra={"check": name})
        return False
