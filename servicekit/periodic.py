"""A background thread that repeats one piece of work, sooner when woken."""

import logging
import threading
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from servicekit.failures import describe_failure

log = logging.getLogger(__name__)


class PeriodicThread:
    def __init__(self, name: str, interval_s: float, work: Callable[[], object]) -> None:
        self._name = name
        self._interval_s = interval_s
        self._work = work
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def wake(self) -> None:
        self._wakeup.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the run in progress, then stop."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._work()
            except SQLAlchemyError as error:
                # A database hiccup: the work is idempotent, the next run retries it. No
                # traceback: the driver's error text can quote the rows' data.
                log.warning(
                    "background work failed; retrying",
                    extra={"worker": self._name, "error": describe_failure(error)},
                )
            except Exception:
                log.exception("background work failed; retrying", extra={"worker": self._name})
            self._wakeup.wait(self._interval_s)
            self._wakeup.clear()
