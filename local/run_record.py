"""What a running `make run` leaves in its data directory, so the next one can tell a stale stack.

`run.json` names the supervisor and every child with its pid and command line. A second start
while the supervisor lives is refused with its pid; a record whose supervisor is gone (killed
before it could clean up) has its surviving children stopped, and the start says so.
"""

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from local.ports import port_free


class StackAlreadyRunning(RuntimeError):
    """Another supervisor holds this data directory."""


class PortsInUse(RuntimeError):
    """A port the stack needs is held by a process this record does not know."""


@dataclass(frozen=True)
class RecordedProcess:
    name: str
    pid: int
    cmdline: str  # /proc/<pid>/cmdline as recorded, to tell a reused pid from ours


class RunRecord:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "run.json"

    def write(self, supervisor_pid: int, children: Mapping[str, int]) -> None:
        entries = [RecordedProcess("supervisor", supervisor_pid, _cmdline(supervisor_pid))]
        entries += [RecordedProcess(name, pid, _cmdline(pid)) for name, pid in children.items()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps([vars(entry) for entry in entries], indent=1))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def read(self) -> list[RecordedProcess]:
        try:
            return [RecordedProcess(**entry) for entry in json.loads(self.path.read_text())]
        except FileNotFoundError:
            return []
        except (ValueError, TypeError):
            return []  # a torn write from a crash: nothing to trust in it

    def clear_stale(self) -> list[RecordedProcess]:
        """Refuse if the recorded supervisor still runs; else stop its leftovers and return them."""
        recorded = self.read()
        alive = [entry for entry in recorded if _is_same_process(entry)]
        supervisor = next((entry for entry in alive if entry.name == "supervisor"), None)
        if supervisor is not None:
            raise StackAlreadyRunning(
                f"CarePulse is already running from {self.path.parent} (supervisor pid"
                f" {supervisor.pid}); stop it with Ctrl-C in its terminal or `kill"
                f" {supervisor.pid}`, or use another CAREPULSE_DATA_DIR"
            )
        leftovers = [entry for entry in alive if entry.name != "supervisor"]
        _stop(leftovers)
        self.remove()
        return leftovers


def check_ports_free(ports: Mapping[str, int]) -> None:
    """Raise PortsInUse naming each port that cannot be bound on 127.0.0.1."""
    taken = [f"{port} ({name})" for name, port in ports.items() if not port_free(port)]
    if taken:
        raise PortsInUse(
            f"port(s) {', '.join(taken)} already in use by another program; stop it, or start"
            " the stack on other ports with CAREPULSE_PORT_OFFSET=<n>"
        )


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _is_same_process(entry: RecordedProcess) -> bool:
    try:
        os.kill(entry.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: a reused pid, not ours
    return _cmdline(entry.pid) == entry.cmdline


def _stop(processes: Iterable[RecordedProcess], timeout_s: float = 30) -> None:
    """SIGTERM, so services still commit what they did; SIGKILL whatever outlives the wait."""
    pending = list(processes)
    _signal_all(pending, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        time.sleep(0.2)
        pending = [entry for entry in pending if _is_same_process(entry)]
    _signal_all(pending, signal.SIGKILL)


def _signal_all(processes: Iterable[RecordedProcess], signum: signal.Signals) -> None:
    for entry in processes:
        with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
            os.kill(entry.pid, signum)
