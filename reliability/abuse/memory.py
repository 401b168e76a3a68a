"""The gateway's resident memory, sampled from /proc while the attacks run."""

import threading
from pathlib import Path
from types import TracebackType


def rss_mb(pid: int) -> float | None:
    """VmRSS of a live process in MiB; None once it is gone (or a zombie, which has none)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    return None


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next((line for line in status.splitlines() if line.startswith("State:")), "")
    return not any(dead in state for dead in ("zombie", "dead"))


class RssSampler:
    """Samples a process's RSS every `interval_s` on a thread; `max_mb` is the peak seen."""

    def __init__(self, pid: int, interval_s: float = 0.1) -> None:
        self._pid = pid
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.first_mb: float | None = None
        self.max_mb: float | None = None
        self.last_mb: float | None = None

    def __enter__(self) -> "RssSampler":
        self._sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._sample()

    def _sample(self) -> None:
        value = rss_mb(self._pid)
        if value is None:
            return
        if self.first_mb is None:
            self.first_mb = value
        self.max_mb = value if self.max_mb is None else max(self.max_mb, value)
        self.last_mb = value
