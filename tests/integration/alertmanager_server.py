"""A real Prometheus Alertmanager (Debian's prometheus-alertmanager) on a loopback port."""

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.integration.system_binaries import free_port, require_binary

BINARY = "/usr/bin/prometheus-alertmanager"
# One receiver that sends nowhere: the test reads the alerts back through the API.
CONFIG = """\
route:
  receiver: nowhere
receivers:
  - name: nowhere
"""


@contextmanager
def running_alertmanager(work_dir: Path, timeout_s: float = 30) -> Iterator[str]:
    """Yields the base URL of a fresh Alertmanager; clustering off, storage in work_dir."""
    binary = require_binary(BINARY, "prometheus-alertmanager")
    work_dir.mkdir(parents=True, exist_ok=True)
    config = work_dir / "alertmanager.yml"
    config.write_text(CONFIG)
    port = free_port()
    log = (work_dir / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [
            str(binary),
            f"--config.file={config}",
            f"--storage.path={work_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # empty: no gossip, no peers
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, work_dir / "alertmanager.log", timeout_s)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def active_alerts(url: str) -> list[dict[str, Any]]:
    reply = httpx.get(f"{url}/api/v2/alerts", timeout=5)
    reply.raise_for_status()
    alerts: list[dict[str, Any]] = reply.json()
    return alerts


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"alertmanager exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"alertmanager not ready after {timeout_s}s:\n{log.read_text()[-2000:]}")
