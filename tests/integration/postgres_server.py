"""A throw-away PostgreSQL server (Debian's `postgresql` package) on a loopback port.

Debian keeps the server binaries outside PATH, under /usr/lib/postgresql/<version>/bin.
PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user in a
directory it owns.
"""

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.integration.system_binaries import free_port

_DEBIAN_ROOT = Path("/usr/lib/postgresql")


class PostgresServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self._admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def create_database(self) -> str:
        """A fresh, empty database; returns its DATABASE_URL (the form services read)."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


def _bin_dir() -> Path:
    versions = sorted(
        (path for path in _DEBIAN_ROOT.glob("*/bin") if (path / "initdb").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not versions:
        pytest.fail(
            f"no PostgreSQL server under {_DEBIAN_ROOT}: run `make test-deps` "
            "(installs the Debian package postgresql)",
            pytrace=False,
        )
    return versions[-1]


@contextmanager
def running_postgres(tmp_path: Path) -> Iterator[PostgresServer]:
    bin_dir = _bin_dir()
    as_root = os.geteuid() == 0
    # pytest's tmp_path sits below root-only directories the postgres user cannot enter.
    base = Path(tempfile.mkdtemp(prefix="carepulse-pg-")) if as_root else tmp_path
    data = base / "data"
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    port = free_port()

    def run(*argv: str) -> None:
        subprocess.run([*run_as, *argv], check=True, capture_output=True, timeout=120)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-N")
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(base / "server.log")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", log, "-w", "-o", options, "start")
        yield PostgresServer(port)
    finally:
        if (data / "postmaster.pid").exists():
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        if as_root:
            shutil.rmtree(base, ignore_errors=True)
