"""Versioned schema migrations (Alembic): each service brings its schema to head before serving.

A service keeps its migrations in its own package (`services/<name>/migrations/`: `env.py`,
`versions/`) and records its revision in its own version table, so services sharing one
database (one `DATABASE_URL`) never see each other's revisions. `upgrade_to_head` runs at start:

* on PostgreSQL, inside one transaction that first takes an advisory lock keyed by the version
  table: replicas starting at once migrate one after the other, the later ones find nothing to
  do, and since PostgreSQL's DDL is transactional a failed migration leaves nothing half done;
* a database made by the service's `create_all` before migrations existed (the baseline
  revision's tables, no version table) is adopted: stamped at the baseline, then upgraded;
* a database holding only some of the baseline tables is refused (`SchemaNotAdoptable`):
  guessing which revision it is at would hide a real problem.

SQLite files are one process's own (the services run one process per file), so no lock there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, create_engine, inspect, text

log = logging.getLogger(__name__)

# Alembic's `context` and `op` are process-wide proxies: one migration at a time per process.
_ALEMBIC_IN_USE = threading.Lock()


class SchemaNotAdoptable(RuntimeError):
    """The database has some of the service's tables but no version table: which revision?"""


@dataclass(frozen=True)
class MigrationSet:
    """One service's migrations and the schema their head must equal."""

    directory: Path  # holds env.py and versions/
    metadata: MetaData  # the service's tables as the code uses them (head)
    version_table: str  # e.g. "alert_alembic_version"; one per service
    baseline_revision: str  # the schema `create_all` made before there were migrations
    baseline_tables: frozenset[str]

    def config(self, connection: Connection | None = None) -> Config:
        """An Alembic configuration for this set, running on `connection` if given."""
        config = Config()
        config.set_main_option("script_location", str(self.directory))
        if connection is not None:
            config.attributes["connection"] = connection
        return config

    def head(self) -> str:
        head = ScriptDirectory.from_config(self.config()).get_current_head()
        if head is None:
            raise RuntimeError(f"no migrations under {self.directory}")
        return head

    def owns(self, table_name: str) -> bool:
        """Whether a table is this service's (its own tables and version table)."""
        return table_name in self.metadata.tables or table_name == self.version_table

    def context_options(self) -> dict[str, Any]:
        """What Alembic must know to see only this service's tables, for env.py and checks."""
        return {
            "target_metadata": self.metadata,
            "version_table": self.version_table,
            "include_name": self._include_name,
            "compare_type": True,
            "render_as_batch": True,  # SQLite alters tables by copying them
        }

    def _include_name(self, name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or (name is not None and self.owns(name))


def upgrade_to_head(engine: Engine, migrations: MigrationSet) -> None:
    """Create or upgrade the service's tables to the newest revision; safe at every start."""
    with _ALEMBIC_IN_USE, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Held until this transaction ends: concurrent starts migrate one at a time.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": _lock_key(migrations.version_table)},
            )
        config = migrations.config(connection)
        before = current_revision(connection, migrations)
        if before is None and _adopt_legacy_schema(connection, migrations):
            command.stamp(config, migrations.baseline_revision)
            log.info(
                "adopted a schema created before migrations",
                extra={"revision": migrations.baseline_revision},
            )
        command.upgrade(config, "head")
        after = current_revision(connection, migrations)
    if after != before:
        log.info("database migrated", extra={"from_revision": before, "to_revision": after})


def current_revision(connection: Connection, migrations: MigrationSet) -> str | None:
    """The revision the database is at; None if it has never been migrated."""
    context = MigrationContext.configure(
        connection, opts={"version_table": migrations.version_table}
    )
    return context.get_current_revision()


def schema_differences(connection: Connection, migrations: MigrationSet) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the code: [] if
    nothing (the check that migrations and metadata agree). Other services' tables are ignored.
    """
    context = MigrationContext.configure(connection, opts=migrations.context_options())
    differences: list[Any] = compare_metadata(context, migrations.metadata)
    return differences


def run_environment(migrations: MigrationSet) -> None:
    """The body of a service's env.py: run Alembic's command on this set's tables.

    Services call `upgrade_to_head`, which passes its connection in. The `alembic` command
    line (`alembic -c services/<name>/migrations/alembic.ini revision --autogenerate ...`)
    connects to `sqlalchemy.url` from the ini file, or DATABASE_URL.
    """
    from alembic import context

    connection: Connection | None = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection, migrations)
        return
    url = _command_line_url(context.config)
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **migrations.context_options())
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url)
    try:
        with engine.begin() as own_connection:
            _run(own_connection, migrations)
    finally:
        engine.dispose()


def _run(connection: Connection, migrations: MigrationSet) -> None:
    from alembic import context

    context.configure(connection=connection, **migrations.context_options())
    with context.begin_transaction():
        context.run_migrations()


def _adopt_legacy_schema(connection: Connection, migrations: MigrationSet) -> bool:
    """True if the baseline tables all exist; False if none do; refuses anything between."""
    present = migrations.baseline_tables & set(inspect(connection).get_table_names())
    if not present:
        return False
    missing = migrations.baseline_tables - present
    if missing:
        raise SchemaNotAdoptable(
            f"the database has {sorted(present)} but not {sorted(missing)} and no"
            f" {migrations.version_table} table: it was not made by this service's schema;"
            " migrate or remove it by hand"
        )
    return True


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key per version table (i.e. per service)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _command_line_url(config: Config) -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL", "")
    if not url:
        raise RuntimeError("set DATABASE_URL (or sqlalchemy.url) for the alembic command line")
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url
