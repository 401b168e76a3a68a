"""A recommend database made before migrations is adopted, and what it learned carried over."""

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, inspect

from servicekit.migrations import current_revision, schema_differences, upgrade_to_head
from services.recommend.feedback import DEFAULT_PRIOR, FeedbackStore
from services.recommend.migrations import RECOMMEND_MIGRATIONS
from tests.unit.recommend.legacy_schema import create_legacy_database


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return create_engine(f"sqlite:///{tmp_path / 'recommend.db'}")


def test_a_database_made_by_create_all_is_adopted_and_keeps_what_it_learned(
    engine: Engine,
) -> None:
    create_legacy_database(engine)

    upgrade_to_head(engine, RECOMMEND_MIGRATIONS)

    with engine.connect() as connection:
        assert current_revision(connection, RECOMMEND_MIGRATIONS) == RECOMMEND_MIGRATIONS.head()
        assert schema_differences(connection, RECOMMEND_MIGRATIONS) == []
    assert_legacy_data_carried_over(FeedbackStore(engine))


def test_the_feedback_revision_downgrades_and_upgrades_again_without_loss(
    engine: Engine,
) -> None:
    create_legacy_database(engine)
    upgrade_to_head(engine, RECOMMEND_MIGRATIONS)

    with engine.begin() as connection:
        command.downgrade(RECOMMEND_MIGRATIONS.config(connection), "0001")
    assert "recommend_served_messages" in inspect(engine).get_table_names()
    upgrade_to_head(engine, RECOMMEND_MIGRATIONS)

    assert_legacy_data_carried_over(FeedbackStore(engine))


def assert_legacy_data_carried_over(store: FeedbackStore) -> None:
    # Counts from before intents were recorded count for the unknown intent.
    assert store.posteriors("") == {"lost-card": DEFAULT_PRIOR.updated(3, 1)}
    assert store.rejected_by("alice") == {"lost-card"}
    # Suggestions served before the upgrade can still get feedback, from their customer.
    assert store.check_feedback("msg-old", "alice", "card-fee").intent == ""
    # The vote already applied stays applied once.
    assert (
        store.record(
            feedback_id="fb-old",
            message_id="msg-old",
            customer_id="alice",
            article_id="lost-card",
            helpful=False,
            given_at=store.check_feedback("msg-old", "alice", "lost-card").served_at,
        )
        is False
    )
