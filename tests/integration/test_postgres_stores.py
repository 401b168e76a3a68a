"""The alert store and recommend's FeedbackStore on a real PostgreSQL, as with DATABASE_URL set.

Each test gets a fresh database on one throw-away server (local/postgres.py).
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from servicekit.database import create_database_engine
from servicekit.migrations import upgrade_to_head
from services.alert.alerts import AlertState
from services.alert.storage.alerts import AlertQuery, PageCursor
from services.alert.storage.deliveries import DeliveryQueue
from services.recommend.feedback import (
    DEFAULT_PRIOR,
    ArticleNotSuggested,
    BetaPosterior,
    FeedbackStore,
    UnknownMessage,
)
from services.recommend.migrations import RECOMMEND_MIGRATIONS
from tests.unit.alert.conftest import CARD, START, FakeClock, Pipeline

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def pipeline(tmp_path: Path, database_url: str) -> Iterator[Pipeline]:
    pipeline = Pipeline(
        tmp_path / "unused.db",
        FakeClock(START),
        database_url=database_url,
        notification_destinations=["webhook:test"],
    )
    assert pipeline.engine.dialect.name == "postgresql"
    yield pipeline
    pipeline.close()


def test_alert_store_counts_a_redelivered_batch_once_on_postgres(pipeline: Pipeline) -> None:
    batch = pipeline.observations(negatives=3, total=10)

    first = pipeline.count(batch)
    again = pipeline.count(batch + batch[:2])

    assert (first.counted, first.duplicates) == (10, 0)
    assert (again.counted, again.duplicates) == (0, 12)
    with pipeline.store.transaction() as tx:
        (tally,) = tx.messages.open_buckets_through(CARD, START + timedelta(hours=1)).values()
    assert (tally.negative, tally.total) == (3, 10)
    assert tally.example_message_ids == ["m-1", "m-2", "m-3"]


def test_alert_lifecycle_is_persisted_with_its_outbox_on_postgres(pipeline: Pipeline) -> None:
    pipeline.baseline()
    (opened,) = pipeline.bucket(negatives=30, total=35).alerts_opened
    acked = pipeline.lifecycle.acknowledge(opened.alert_id, "ana", "looking")
    for _ in range(12):
        pipeline.bucket(negatives=1, total=20)

    (alert,) = pipeline.alerts()
    assert alert.alert_id == opened.alert_id
    assert alert.state is AlertState.RESOLVED
    assert alert.acknowledgement == acked.acknowledgement
    assert alert.opened_at == opened.opened_at and alert.opened_at.tzinfo is not None
    assert alert.evidence.example_message_ids == opened.evidence.example_message_ids
    assert pipeline.store.get_alert(opened.alert_id) == alert
    assert pipeline.store.count_open_alerts() == 0
    assert pipeline.store.open_alerts() == []
    # Paging and filters
    page = pipeline.store.list_alerts(AlertQuery(state=AlertState.RESOLVED), None, 10)
    assert [a.alert_id for a in page] == [alert.alert_id]
    cursor = PageCursor(alert.opened_at, alert.alert_id)
    assert pipeline.store.list_alerts(AlertQuery(), cursor, 10) == []
    # The outbox: three lifecycle events in order, each with a pending notification.
    events = pipeline.store.unpublished_events(100)
    states = [event.alert.state for event in events]
    assert states == [AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.RESOLVED]
    assert pipeline.store.latest_sequence() == events[-1].sequence
    pipeline.store.mark_published([event.sequence for event in events])
    assert pipeline.store.unpublished_events(100) == []
    pending = DeliveryQueue(pipeline.engine).pending("webhook:test", 10)
    assert [delivery.sequence for delivery in pending] == [event.sequence for event in events]


def test_restarted_alert_service_recovers_from_postgres_without_a_second_alert(
    pipeline: Pipeline,
) -> None:
    pipeline.baseline()
    spike = pipeline.observations(negatives=30, total=35)
    pipeline.count(spike)  # ... then kill -9 before Kafka offsets were committed

    restarted = pipeline.restarted()
    assert restarted.count(spike).duplicates == 35  # the redelivery changes nothing
    (opened,) = restarted.next_bucket().alerts_opened
    again = restarted.restarted()
    assert [again.bucket(negatives=40, total=42).alerts_opened for _ in range(2)] == [[], []]

    (alert,) = again.alerts()
    assert alert.alert_id == opened.alert_id
    assert alert.state is AlertState.FIRING
    assert alert.evidence.negative_count == 30 + 2 * 40
    assert again.store.forget_processed_before(again.clock.now + timedelta(days=1)) > 0
    restarted.close()
    again.close()


@pytest.fixture
def feedback(database_url: str, tmp_path: Path) -> FeedbackStore:
    engine = create_database_engine(database_url, tmp_path / "unused.db")
    upgrade_to_head(engine, RECOMMEND_MIGRATIONS)
    return FeedbackStore(engine)


def _vote(store: FeedbackStore, feedback_id: str, article_id: str, helpful: bool) -> bool:
    return store.record(
        feedback_id=feedback_id,
        message_id="m-1",
        customer_id="alice",
        article_id=article_id,
        helpful=helpful,
        given_at=T0,
    )


def test_feedback_store_records_each_event_once_on_postgres(feedback: FeedbackStore) -> None:
    feedback.remember_served("alice", "m-1", "lost_card", ["lost-card", "card-fee"], served_at=T0)

    assert _vote(feedback, "fb-1", "lost-card", False) is True
    assert _vote(feedback, "fb-1", "lost-card", False) is False
    assert _vote(feedback, "fb-1", "card-fee", True) is False  # first write wins
    assert _vote(feedback, "fb-2", "lost-card", False) is True  # already rejected

    assert feedback.posteriors("lost_card") == {"lost-card": DEFAULT_PRIOR.updated(0, 2)}
    assert feedback.rejected_by("alice") == {"lost-card"}
    assert feedback.rejected_by("bob") == set()


def test_feedback_posteriors_count_every_vote_per_intent_on_postgres(
    feedback: FeedbackStore,
) -> None:
    votes = [("a", True), ("a", True), ("a", False), ("b", False)]
    for n, (article_id, helpful) in enumerate(votes):
        feedback.remember_served(f"customer-{n}", f"m-{n}", "lost_card", [article_id])
        feedback.record(
            feedback_id=f"fb-{n}",
            message_id=f"m-{n}",
            customer_id=f"customer-{n}",
            article_id=article_id,
            helpful=helpful,
            given_at=T0,
        )

    assert feedback.posteriors("lost_card") == {
        "a": BetaPosterior(DEFAULT_PRIOR.alpha + 2, DEFAULT_PRIOR.beta + 1),
        "b": BetaPosterior(DEFAULT_PRIOR.alpha, DEFAULT_PRIOR.beta + 1),
    }
    assert feedback.posteriors("card_fee") == {}


def test_feedback_on_suggestions_not_served_is_refused_on_postgres(
    feedback: FeedbackStore,
) -> None:
    feedback.remember_served("alice", "m-1", "lost_card", ["lost-card"], served_at=T0)
    assert feedback.remember_served("mallory", "m-1", "lost_card", ["card-fee"]) is False

    with pytest.raises(ArticleNotSuggested):
        _vote(feedback, "fb-1", "card-fee", False)
    with pytest.raises(UnknownMessage):
        feedback.check_feedback("m-1", "mallory", "lost-card")
    assert feedback.posteriors("lost_card") == {}


def test_feedback_retention_forgets_old_rows_on_postgres(feedback: FeedbackStore) -> None:
    feedback.remember_served("alice", "m-1", "lost_card", ["lost-card"], served_at=T0)
    _vote(feedback, "fb-1", "lost-card", True)
    later = T0 + timedelta(days=100)
    feedback.remember_served("bob", "m-2", "lost_card", ["lost-card"], served_at=later)

    forgotten = feedback.forget_before(later - timedelta(days=90))

    assert (forgotten.suggestions, forgotten.votes) == (1, 1)
    with pytest.raises(UnknownMessage):
        _vote(feedback, "fb-1", "lost-card", True)
    assert feedback.posteriors("lost_card") == {"lost-card": DEFAULT_PRIOR.updated(1, 0)}
    assert feedback.check_feedback("m-2", "bob", "lost-card").served_at == later
