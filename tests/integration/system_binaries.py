"""Finding the Debian-packaged servers some tests start; `make test-deps` installs them."""

import shutil
import socket
from pathlib import Path

import pytest


def require_binary(path: Path | str, package: str) -> Path:
    """The binary, or a failed test that says how to get it (never a silent skip)."""
    found = shutil.which(str(path))
    if found is None:
        pytest.fail(
            f"{path} not found: run `make test-deps` (installs the Debian package {package})",
            pytrace=False,
        )
    return Path(found)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
