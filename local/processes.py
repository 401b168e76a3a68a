"""Child processes whose output is shown line by line behind a name prefix.

Each child gets SIGTERM from the kernel when its supervisor dies, even by `kill -9`
(Linux's parent-death signal), so a crashed `make run` leaves no Kafka or service holding
ports and `.data/`.
"""

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>

_COLORS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m"]
_RESET = "\033[0m"


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log_file: Path | None = None,
        color_index: int = 0,
    ) -> None:
        self.name = name
        self._argv = list(argv)
        self._env = dict(env)
        self._cwd = cwd
        self._log_file = log_file
        self._color = _COLORS[color_index % len(_COLORS)] if sys.stdout.isatty() else ""
        self._process: subprocess.Popen[str] | None = None
        self._pump: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self._process = subprocess.Popen(
            self._argv,
            cwd=self._cwd,
            env=self._env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
            preexec_fn=_terminate_with_parent(os.getpid()),
        )
        sink = self._log_file.open("a", encoding="utf-8") if self._log_file else None
        self._pump = threading.Thread(
            target=self._copy_output, args=(self._process.stdout, sink), daemon=True
        )
        self._pump.start()

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def exit_code(self) -> int | None:
        return self._process.poll() if self._process else None

    def terminate(self, timeout_s: float = 20) -> int | None:
        """SIGTERM, wait for a graceful exit, SIGKILL if it does not come."""
        if not self._process or self._process.poll() is not None:
            return self.exit_code()
        self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self) -> int | None:
        """SIGKILL: a crash, as far as the process can tell."""
        if self._process and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(10)
        if self._pump:
            self._pump.join(timeout=2)
        return self.exit_code()

    def _copy_output(self, stream: TextIO | None, sink: TextIO | None) -> None:
        if stream is None:
            return
        prefix = f"{self._color}{self.name:>9} |{_RESET if self._color else ''} "
        for line in stream:
            if sink:
                sink.write(line)
                sink.flush()
            else:
                sys.stdout.write(prefix + line)
                sys.stdout.flush()
        if sink:
            sink.close()


def _terminate_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """A pre-exec hook asking for SIGTERM when the parent dies; None where Linux's prctl is not.

    SIGTERM, not SIGKILL: the services still drain and commit, as on a normal stop. The
    signal follows the thread that started the child, so children are started from the
    supervisor's main thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return hook
