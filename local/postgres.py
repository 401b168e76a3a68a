"""A throw-away PostgreSQL server (Debian's `postgresql` package) on a loopback port.

Debian keeps the server binaries outside PATH, under /usr/lib/postgresql/<version>/bin.
PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user in a
directory it owns. The tests use it for the stores and migrations; `make chaos` stops and
starts it under running services.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

_DEBIAN_ROOT = Path("/usr/lib/postgresql")


class PostgresNotInstalled(FileNotFoundError):
    """No server binaries: `make test-deps` installs Debian's postgresql package."""


class PostgresServer:
    def __init__(self, base: Path, port: int, run_as: list[str]) -> None:
        self.port = port
        self._base = base
        self._data = base / "data"
        self._run_as = run_as
        self._bin_dir = _bin_dir()
        self._admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def create_database(self) -> str:
        """A fresh, empty database; returns its DATABASE_URL (the form services read)."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self._base} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self._base / "server.log")
        self._run("pg_ctl", "-D", str(self._data), "-l", log, "-w", "-o", options, "start")

    def stop(self) -> None:
        """Immediate shutdown: open connections break, as when the database host goes away."""
        if (self._data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")

    def initialize(self) -> None:
        self._run("initdb", "-D", str(self._data), "-U", "postgres", "--auth=trust", "-N")

    def _run(self, program: str, *argv: str) -> None:
        command = [*self._run_as, str(self._bin_dir / program), *argv]
        subprocess.run(command, check=True, capture_output=True, timeout=120)


def _bin_dir() -> Path:
    versions = sorted(
        (path for path in _DEBIAN_ROOT.glob("*/bin") if (path / "initdb").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not versions:
        raise PostgresNotInstalled(
            f"no PostgreSQL server under {_DEBIAN_ROOT}: run `make test-deps` "
            "(installs the Debian package postgresql)"
        )
    return versions[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_postgres(work_dir: Path) -> Iterator[PostgresServer]:
    as_root = os.geteuid() == 0
    # A caller's temp dir may sit below root-only directories the postgres user cannot enter.
    base = Path(tempfile.mkdtemp(prefix="carepulse-pg-")) if as_root else work_dir
    base.mkdir(parents=True, exist_ok=True)
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    server = PostgresServer(
        base, _free_port(), ["runuser", "-u", "postgres", "--"] if as_root else []
    )
    try:
        server.initialize()
        server.start()
        yield server
    finally:
        server.stop()
        if as_root:
            shutil.rmtree(base, ignore_errors=True)
