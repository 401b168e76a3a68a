from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine

from services.recommend.feedback import DEFAULT_PRIOR, BetaPosterior, FeedbackStore

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_redelivered_feedback_event_changes_nothing(store: FeedbackStore) -> None:
    assert store.record("fb-1", "alice", "lost-card", False, T0) is True
    posteriors, rejected = store.posteriors(), store.rejected_by("alice")

    assert store.record("fb-1", "alice", "lost-card", False, T0) is False
    # Even a redelivery with different content is the same event: first write wins.
    assert store.record("fb-1", "alice", "card-fee", True, T0) is False

    assert store.posteriors() == posteriors == {"lost-card": DEFAULT_PRIOR.updated(0, 1)}
    assert store.rejected_by("alice") == rejected == {"lost-card"}


def test_votes_update_each_articles_beta_posterior(store: FeedbackStore) -> None:
    votes = [("a", True), ("a", True), ("a", False), ("b", False)]
    for n, (article_id, helpful) in enumerate(votes):
        store.record(f"fb-{n}", f"customer-{n}", article_id, helpful, T0)
    assert store.posteriors() == {
        "a": BetaPosterior(DEFAULT_PRIOR.alpha + 2, DEFAULT_PRIOR.beta + 1),
        "b": BetaPosterior(DEFAULT_PRIOR.alpha, DEFAULT_PRIOR.beta + 1),
    }


def test_only_not_helpful_votes_reject_an_article_for_that_customer(
    store: FeedbackStore,
) -> None:
    store.record("fb-1", "alice", "lost-card", False, T0)
    store.record("fb-2", "alice", "card-fee", True, T0)
    store.record("fb-3", "bob", "change-pin", False, T0)
    assert store.rejected_by("alice") == {"lost-card"}
    assert store.rejected_by("bob") == {"change-pin"}
    assert store.rejected_by("carol") == set()


def test_feedback_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    first = FeedbackStore(create_engine(url))
    first.create_tables()
    first.record("fb-1", "alice", "lost-card", False, T0)

    second = FeedbackStore(create_engine(url))
    second.create_tables()  # idempotent at every start
    assert second.record("fb-1", "alice", "lost-card", False, T0) is False
    assert second.rejected_by("alice") == {"lost-card"}


def test_served_suggestions_are_remembered_once_per_message(store: FeedbackStore) -> None:
    assert store.remember_served("alice", "msg-1", ["a", "b"], served_at=T0) is True
    assert store.remember_served("alice", "msg-1", ["c"], served_at=T0) is False
    [served] = store.recently_served("alice")
    assert (served.message_id, served.article_ids) == ("msg-1", ("a", "b"))


def test_served_history_keeps_the_newest_messages_first(tmp_path: Path) -> None:
    store = FeedbackStore(create_engine(f"sqlite:///{tmp_path / 'f.db'}"), served_history=3)
    store.create_tables()
    for n in range(5):
        store.remember_served("alice", f"msg-{n}", [f"a{n}"], served_at=T0 + timedelta(minutes=n))
    store.remember_served("bob", "msg-bob", ["x"], served_at=T0)
    assert [s.message_id for s in store.recently_served("alice")] == ["msg-4", "msg-3", "msg-2"]
    assert [s.message_id for s in store.recently_served("bob")] == ["msg-bob"]


def test_beta_posterior_draws_are_reproducible_and_centre_on_the_mean() -> None:
    posterior = BetaPosterior(8.0, 2.0)
    draws = [posterior.sample(np.random.default_rng(3)) for _ in range(2)]
    assert draws[0] == draws[1]
    rng = np.random.default_rng(0)
    mean_of_draws = np.mean([posterior.sample(rng) for _ in range(4000)])
    assert mean_of_draws == pytest.approx(posterior.mean, abs=0.01)
    with pytest.raises(ValueError):
        BetaPosterior(0.0, 1.0)


def test_empty_ids_are_rejected(store: FeedbackStore) -> None:
    with pytest.raises(ValueError, match="feedback_id"):
        store.record("", "alice", "a", True, T0)
    with pytest.raises(ValueError, match="message_id"):
        store.remember_served("alice", "", ["a"])
