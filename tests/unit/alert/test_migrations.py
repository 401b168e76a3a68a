"""An alert database made by `create_all` before migrations is adopted, its data kept."""

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, select

from servicekit.migrations import current_revision, schema_differences, upgrade_to_head
from services.alert import schema
from services.alert.migrations import ALERT_MIGRATIONS


def test_a_database_made_by_create_all_is_adopted_and_keeps_its_rows(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'alert.db'}")
    # What the service did before migrations. While 0001 is the only revision this is the
    # old schema; once the schema changes, freeze a copy of it here (as recommend's tests do).
    schema.metadata.create_all(engine)
    seen_at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            schema.processed_messages.insert().values(message_id="m-1", processed_at=seen_at)
        )

    upgrade_to_head(engine, ALERT_MIGRATIONS)

    with engine.connect() as connection:
        assert current_revision(connection, ALERT_MIGRATIONS) == ALERT_MIGRATIONS.head()
        assert schema_differences(connection, ALERT_MIGRATIONS) == []
        rows = connection.execute(select(schema.processed_messages)).all()
    assert [(r.message_id, r.processed_at) for r in rows] == [("m-1", seen_at)]
