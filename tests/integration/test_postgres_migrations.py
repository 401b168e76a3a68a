"""Each service's migrations on a real PostgreSQL, as with DATABASE_URL set.

Both services migrate the same database, as they do when they share one DATABASE_URL.
"""

import multiprocessing
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from servicekit.database import create_database_engine
from servicekit.migrations import current_revision, schema_differences, upgrade_to_head
from services.alert.migrations import ALERT_MIGRATIONS
from services.alert.storage.store import AlertStore
from services.recommend.feedback import FeedbackStore
from services.recommend.migrations import RECOMMEND_MIGRATIONS
from tests.unit.alert.legacy_schema import create_legacy_database as create_legacy_alert_database
from tests.unit.alert.test_migrations import assert_legacy_examples_kept_without_traces
from tests.unit.recommend.legacy_schema import create_legacy_database
from tests.unit.recommend.test_migrations import assert_legacy_data_carried_over

pytestmark = pytest.mark.integration

SERVICES = (ALERT_MIGRATIONS, RECOMMEND_MIGRATIONS)


@pytest.fixture
def engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(database_url, tmp_path / "unused.db")
    assert engine.dialect.name == "postgresql"
    yield engine
    engine.dispose()


def test_upgrade_of_an_empty_postgres_database_creates_exactly_each_services_schema(
    engine: Engine,
) -> None:
    for migrations in SERVICES:
        upgrade_to_head(engine, migrations)

    _assert_at_head(engine)


def test_a_second_upgrade_on_postgres_changes_nothing(engine: Engine) -> None:
    for migrations in SERVICES:
        upgrade_to_head(engine, migrations)
    before = _columns(engine)

    for migrations in SERVICES:
        upgrade_to_head(engine, migrations)

    assert _columns(engine) == before
    _assert_at_head(engine)


def test_replicas_starting_at_once_on_postgres_all_start(database_url: str) -> None:
    # Processes, as replicas are: each migrates through its own connection at the same moment.
    processes = multiprocessing.get_context("spawn")
    count = REPLICAS * len(SERVICES)
    start, outcomes = processes.Barrier(count), processes.Queue()
    replicas = [
        processes.Process(
            target=_start_replica, args=(database_url, n % len(SERVICES), start, outcomes)
        )
        for n in range(count)
    ]
    for replica in replicas:
        replica.start()
    results = [outcomes.get(timeout=120) for _ in replicas]
    for replica in replicas:
        replica.join(timeout=30)

    assert results == ["ok"] * count
    engine = create_database_engine(database_url, Path("unused.db"))
    _assert_at_head(engine)
    engine.dispose()


REPLICAS = 4


def _start_replica(
    database_url: str, service: int, start: Barrier, outcomes: "multiprocessing.Queue[str]"
) -> None:
    engine = create_database_engine(database_url, Path("unused.db"))
    start.wait()
    try:
        upgrade_to_head(engine, SERVICES[service])
        outcomes.put("ok")
    except Exception as error:
        outcomes.put(f"{type(error).__name__}: {error}")
    finally:
        engine.dispose()


def test_postgres_databases_made_by_create_all_are_adopted_with_their_data(
    engine: Engine,
) -> None:
    create_legacy_alert_database(engine)  # the alert service before migrations
    create_legacy_database(engine)  # the recommend service before migrations

    for migrations in SERVICES:
        upgrade_to_head(engine, migrations)

    _assert_at_head(engine)
    assert_legacy_examples_kept_without_traces(AlertStore(engine))
    assert_legacy_data_carried_over(FeedbackStore(engine))


def _assert_at_head(engine: Engine) -> None:
    with engine.connect() as connection:
        for migrations in SERVICES:
            assert current_revision(connection, migrations) == migrations.head()
            assert schema_differences(connection, migrations) == []


def _columns(engine: Engine) -> list[tuple[str, str, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT table_name, column_name, data_type, is_nullable"
                " FROM information_schema.columns WHERE table_schema = 'public'"
                " ORDER BY table_name, column_name"
            )
        )
        return [tuple(row) for row in rows]
