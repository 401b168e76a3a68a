"""SQLAlchemy engines: SQLite by default, PostgreSQL when DATABASE_URL says so."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.sqlalchemy.version import __version__ as instrumentation_version
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from servicekit.failures import describe_failure
from servicekit.kafka.consumer import TransientFailure


def create_database_engine(url: str | None, default_sqlite_file: Path) -> Engine:
    if not url:
        default_sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{default_sqlite_file}"
    if url.startswith(("postgresql://", "postgres://")):
        # psycopg 3 is the driver we ship; plain URLs would select psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    # hide_parameters: statement parameters (customer ids, texts) stay out of error strings.
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )
        event.listen(engine, "connect", _tune_sqlite)
    else:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    _trace_statements(engine)
    return engine


def _trace_statements(engine: Engine) -> None:
    """A client span per statement: the SQL with its placeholders, never the bound values.

    Own code around the package's EngineTracer because SQLAlchemyInstrumentor cannot run here:
    it declares SQLAlchemy < 2.1, and with that check skipped it patches the asyncio extension,
    which on 2.1 needs greenlet (not installed). EngineTracer is what it attaches to an engine.
    """
    scope = "opentelemetry.instrumentation.sqlalchemy"
    connections = metrics.get_meter(scope, instrumentation_version).create_up_down_counter(
        "db.client.connections.usage",
        unit="connections",
        description="Connections of the pool by state (idle, used).",
    )
    EngineTracer(trace.get_tracer(scope, instrumentation_version), engine, connections)  # type: ignore[no-untyped-call]


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (gRPC queries) proceed while the consumer writes;
    # NORMAL sync is durable across process crashes, which is what restarts need.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextmanager
def outages_are_transient() -> Iterator[None]:
    """In a Kafka processor: an unreachable database retries the batch, never dead-letters it."""
    try:
        yield
    except OperationalError as error:
        raise TransientFailure(describe_failure(error)) from error


def database_reachable(engine: Engine) -> bool:
    """A readiness check: the database answers a trivial query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False  # the pool reconnects once the database is back
    return True
