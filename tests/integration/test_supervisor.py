"""`make run`'s supervisor: its children never outlive it, and a stale stack is explained."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.run_record import RunRecord
from local.stack import REPO_ROOT

pytestmark = pytest.mark.integration


def _free_port_pair() -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent (gone here) would reap it.
    return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


def _wait_gone(pids: list[int], timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while True:
        pids = [pid for pid in pids if _alive(pid)]
        if not pids or time.monotonic() >= deadline:
            return pids
        time.sleep(0.2)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    while b"sleep(600)" not in cmdline.read_bytes():  # until exec: the record keeps argv
        time.sleep(0.05)
    yield process
    process.kill()
    process.wait()


def test_killed_supervisor_takes_kafka_and_services_with_it(tmp_path: Path) -> None:
    port = _free_port_pair()
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.orphan_supervisor", str(tmp_path), str(port)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    children: dict[str, int] = {}
    try:
        assert supervisor.stdout is not None
        children = json.loads(supervisor.stdout.readline())
        assert all(_alive(pid) for pid in children.values())

        supervisor.send_signal(signal.SIGKILL)
        supervisor.wait(10)

        assert _wait_gone(list(children.values()), timeout_s=60) == []
    finally:
        supervisor.kill()
        for pid in _wait_gone(list(children.values()), timeout_s=0):
            os.kill(pid, signal.SIGKILL)  # only when the test failed: leave nothing behind
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # the broker's port is free again


def _run_stack(tmp_path: Path, offset: int) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CAREPULSE_DATA_DIR": str(tmp_path),
        "CAREPULSE_PORT_OFFSET": str(offset),
    }
    return subprocess.run(
        [sys.executable, "-m", "local.run"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_second_run_on_the_same_data_is_refused_naming_the_first(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    # The sleeper stands in for a live supervisor: a real process with its real command line.
    RunRecord(tmp_path).write(sleeper.pid, {})

    result = _run_stack(tmp_path, offset=3000)

    assert result.returncode == 1
    assert f"already running from {tmp_path} (supervisor pid {sleeper.pid})" in result.stderr
    assert not (tmp_path / "kafka").exists(), "nothing may start beside the running stack"


def test_leftovers_of_a_dead_supervisor_are_stopped_and_busy_ports_named(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record = RunRecord(tmp_path)
    record.write(dead.pid, {"kafka": sleeper.pid})
    offset = 3100
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 8080 + offset))  # another program holds the gateway's port
        holder.listen()

        result = _run_stack(tmp_path, offset)

    assert sleeper.wait(timeout=30) is not None, "the leftover was stopped"
    assert f"without stopping kafka (pid {sleeper.pid}); stopped it" in result.stderr
    assert f"{8080 + offset} (gateway) already in use" in result.stderr
    assert result.returncode == 1
    assert not record.path.exists()
