"""Alert databases from older versions reach head with their data; revision 0002 goes both ways."""

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, inspect, select

from servicekit.migrations import current_revision, schema_differences, upgrade_to_head
from services.alert.alerts import AlertState, ExampleMessage, SeriesKey, SpanRef
from services.alert.buckets import BucketTally
from services.alert.migrations import ALERT_MIGRATIONS
from services.alert.storage import schema
from services.alert.storage.store import AlertStore
from tests.unit.alert.legacy_schema import (
    LEGACY_ALERT_ID,
    LEGACY_EXAMPLES,
    T_LEGACY,
    create_legacy_database,
)

CARD = SeriesKey("card_declined", "chat")


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return create_engine(f"sqlite:///{tmp_path / 'alert.db'}")


def test_a_database_made_by_create_all_is_adopted_and_keeps_its_rows(engine: Engine) -> None:
    create_legacy_database(engine)

    upgrade_to_head(engine, ALERT_MIGRATIONS)

    with engine.connect() as connection:
        assert current_revision(connection, ALERT_MIGRATIONS) == ALERT_MIGRATIONS.head()
        assert schema_differences(connection, ALERT_MIGRATIONS) == []
        rows = connection.execute(select(schema.processed_messages)).all()
    assert [(r.message_id, r.processed_at) for r in rows] == [("m-old-1", T_LEGACY)]
    assert_legacy_examples_kept_without_traces(AlertStore(engine))


def test_example_traces_revision_downgrades_and_upgrades_again_keeping_the_examples(
    engine: Engine,
) -> None:
    create_legacy_database(engine)
    upgrade_to_head(engine, ALERT_MIGRATIONS)

    with engine.begin() as connection:
        command.downgrade(ALERT_MIGRATIONS.config(connection), "0001")
    columns = {column["name"] for column in inspect(engine).get_columns("alerts")}
    assert "example_traces" not in columns
    upgrade_to_head(engine, ALERT_MIGRATIONS)

    assert_legacy_examples_kept_without_traces(AlertStore(engine))


def test_examples_keep_their_producer_spans_through_the_store(engine: Engine) -> None:
    upgrade_to_head(engine, ALERT_MIGRATIONS)
    store = AlertStore(engine)
    traced = ExampleMessage("m-1", SpanRef("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"))
    untraced = ExampleMessage("m-2")
    tally = BucketTally(negative=2, total=2, examples=[traced, untraced])

    with store.transaction() as tx:
        tx.messages.add_to_open_buckets({(CARD, T_LEGACY): tally})
    with store.transaction() as tx:
        (stored,) = tx.messages.open_buckets_through(CARD, T_LEGACY).values()

    assert stored.examples == [traced, untraced]


def assert_legacy_examples_kept_without_traces(store: AlertStore) -> None:
    alert = store.get_alert(LEGACY_ALERT_ID)
    assert alert is not None and alert.state is AlertState.FIRING
    assert alert.evidence.examples == tuple(ExampleMessage(m) for m in LEGACY_EXAMPLES)
    with store.transaction() as tx:
        (tally,) = tx.messages.open_buckets_through(CARD, T_LEGACY).values()
    assert tally.examples == [ExampleMessage(m) for m in LEGACY_EXAMPLES]
