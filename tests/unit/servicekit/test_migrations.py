"""Each service's migrations on SQLite: head is the schema its code uses; reruns are safe."""

from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from servicekit.migrations import (
    MigrationSet,
    SchemaNotAdoptable,
    current_revision,
    schema_differences,
    upgrade_to_head,
)
from services.alert.migrations import ALERT_MIGRATIONS
from services.recommend.migrations import RECOMMEND_MIGRATIONS

SERVICES = pytest.mark.parametrize(
    "migrations", [ALERT_MIGRATIONS, RECOMMEND_MIGRATIONS], ids=["alert", "recommend"]
)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return create_engine(f"sqlite:///{tmp_path / 'service.db'}")


@SERVICES
def test_upgrade_of_an_empty_database_creates_exactly_the_schema_the_code_uses(
    engine: Engine, migrations: MigrationSet
) -> None:
    upgrade_to_head(engine, migrations)

    with engine.connect() as connection:
        assert current_revision(connection, migrations) == migrations.head()
        assert schema_differences(connection, migrations) == []


@SERVICES
def test_a_second_upgrade_changes_nothing(engine: Engine, migrations: MigrationSet) -> None:
    upgrade_to_head(engine, migrations)
    before = _schema(engine)

    upgrade_to_head(engine, migrations)

    assert _schema(engine) == before
    with engine.connect() as connection:
        assert current_revision(connection, migrations) == migrations.head()


@SERVICES
def test_a_database_holding_only_some_of_the_old_tables_is_refused(
    engine: Engine, migrations: MigrationSet
) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {min(migrations.baseline_tables)} (x INTEGER)"))

    with pytest.raises(SchemaNotAdoptable, match="not made by this service"):
        upgrade_to_head(engine, migrations)


def test_services_sharing_one_database_keep_separate_revisions(engine: Engine) -> None:
    upgrade_to_head(engine, ALERT_MIGRATIONS)
    upgrade_to_head(engine, RECOMMEND_MIGRATIONS)
    upgrade_to_head(engine, ALERT_MIGRATIONS)

    tables = set(inspect(engine).get_table_names())
    assert {"alert_alembic_version", "recommend_alembic_version"} <= tables
    with engine.connect() as connection:
        for migrations in (ALERT_MIGRATIONS, RECOMMEND_MIGRATIONS):
            assert current_revision(connection, migrations) == migrations.head()
            assert schema_differences(connection, migrations) == []


def _schema(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT name, sql FROM sqlite_master ORDER BY name"))
        return [(name, sql) for name, sql in rows]
