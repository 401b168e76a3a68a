from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine

from servicekit.migrations import upgrade_to_head
from services.recommend.feedback import (
    DEFAULT_PRIOR,
    ArticleNotSuggested,
    BetaPosterior,
    FeedbackStore,
    Served,
    UnknownMessage,
)
from services.recommend.migrations import RECOMMEND_MIGRATIONS
from tests.unit.recommend.conftest import T0, vote_on_served


def vote(store: FeedbackStore, n: int, message: str, customer: str, article: str) -> bool:
    return store.record(
        feedback_id=f"fb-{n}",
        message_id=message,
        customer_id=customer,
        article_id=article,
        helpful=False,
        given_at=T0,
    )


def test_redelivered_feedback_event_changes_nothing(store: FeedbackStore) -> None:
    store.remember_served("alice", "msg-1", "lost_card", ["lost-card", "card-fee"])
    assert vote(store, 1, "msg-1", "alice", "lost-card") is True
    posteriors, rejected = store.posteriors("lost_card"), store.rejected_by("alice")

    assert vote(store, 1, "msg-1", "alice", "lost-card") is False
    # Even a redelivery with different content is the same event: first write wins.
    assert vote(store, 1, "msg-1", "alice", "card-fee") is False

    assert posteriors == {"lost-card": DEFAULT_PRIOR.updated(0, 1)}
    assert store.posteriors("lost_card") == posteriors
    assert store.rejected_by("alice") == rejected == {"lost-card"}


def test_votes_update_each_articles_posterior_for_the_intent_it_was_served_for(
    store: FeedbackStore,
) -> None:
    votes = [("a", True), ("a", True), ("a", False), ("b", False)]
    for n, (article_id, helpful) in enumerate(votes):
        vote_on_served(store, n, f"customer-{n}", article_id, helpful, intent="lost_card")
    vote_on_served(store, 9, "customer-9", "a", False, intent="card_fee")

    assert store.posteriors("lost_card") == {
        "a": BetaPosterior(DEFAULT_PRIOR.alpha + 2, DEFAULT_PRIOR.beta + 1),
        "b": BetaPosterior(DEFAULT_PRIOR.alpha, DEFAULT_PRIOR.beta + 1),
    }
    assert store.posteriors("card_fee") == {"a": DEFAULT_PRIOR.updated(0, 1)}
    assert store.posteriors("other") == {}


def test_a_vote_on_a_message_never_served_is_refused_and_changes_nothing(
    store: FeedbackStore,
) -> None:
    with pytest.raises(UnknownMessage):
        vote(store, 1, "msg-unknown", "alice", "lost-card")

    assert store.posteriors("") == {}
    assert store.rejected_by("alice") == set()


def test_a_vote_by_another_customer_than_the_messages_is_refused(store: FeedbackStore) -> None:
    store.remember_served("alice", "msg-1", "lost_card", ["lost-card"])

    with pytest.raises(UnknownMessage):
        vote(store, 1, "msg-1", "mallory", "lost-card")
    # Nor can the message be re-served to another customer to make such a vote valid.
    assert store.remember_served("mallory", "msg-1", "lost_card", ["lost-card"]) is False
    with pytest.raises(UnknownMessage):
        store.check_feedback("msg-1", "mallory", "lost-card")

    assert store.posteriors("lost_card") == {}
    assert store.rejected_by("alice") == store.rejected_by("mallory") == set()


def test_a_vote_on_an_article_not_suggested_for_the_message_is_refused(
    store: FeedbackStore,
) -> None:
    store.remember_served("alice", "msg-1", "lost_card", ["lost-card"])

    with pytest.raises(ArticleNotSuggested):
        vote(store, 1, "msg-1", "alice", "card-fee")

    assert store.posteriors("lost_card") == {}
    assert store.rejected_by("alice") == set()


def test_every_article_served_for_a_message_can_be_voted_on(store: FeedbackStore) -> None:
    # Chat's answer and the suggestions prepared from the stream may differ (Thompson draws):
    # the customer may have seen either.
    assert store.remember_served("alice", "msg-1", "lost_card", ["a", "b"]) is True
    assert store.remember_served("alice", "msg-1", "lost_card", ["b", "c"]) is True
    assert store.remember_served("alice", "msg-1", "lost_card", ["a"]) is False

    for article_id in ("a", "b", "c"):
        served = store.check_feedback("msg-1", "alice", article_id)
        assert (served.customer_id, served.intent) == ("alice", "lost_card")


def test_a_batch_is_recorded_as_the_single_calls_would_record_it(store: FeedbackStore) -> None:
    store.remember_served("alice", "msg-1", "lost_card", ["a"])
    recorded = store.remember_served_batch(
        [
            Served("alice", "msg-1", "lost_card", ("a", "b")),  # b is new for alice's msg-1
            Served("mallory", "msg-1", "lost_card", ("c",)),  # not mallory's message
            Served("bob", "msg-2", "card_fee", ("d", "d")),
            Served("carol", "msg-2", "card_fee", ("e",)),  # msg-2 is bob's: first in the batch
            Served("dave", "msg-3", "", ()),  # nothing suggested, nothing recorded
            Served("alice", "msg-4", "lost_card", ("a",)),
        ]
    )

    assert recorded == {"msg-1", "msg-2", "msg-4"}
    assert store.check_feedback("msg-1", "alice", "b").intent == "lost_card"
    assert store.check_feedback("msg-2", "bob", "d").intent == "card_fee"
    for message_id, customer_id, article_id in (
        ("msg-1", "mallory", "c"),
        ("msg-2", "carol", "e"),
        ("msg-3", "dave", "a"),
    ):
        with pytest.raises(UnknownMessage):
            store.check_feedback(message_id, customer_id, article_id)
    assert store.remember_served_batch([Served("alice", "msg-4", "lost_card", ("a",))]) == set()


def test_batch_reads_answer_for_every_intent_and_customer_asked(store: FeedbackStore) -> None:
    vote_on_served(store, 1, "alice", "lost-card", False, intent="lost_card")
    vote_on_served(store, 2, "bob", "change-pin", True, intent="lost_card")

    by_intent = store.posteriors_by_intent(["lost_card", "never_voted"])
    rejections = store.rejected_by_customers(["alice", "bob", "carol"])

    assert by_intent == {
        "lost_card": store.posteriors("lost_card"),
        "never_voted": {},
    }
    assert by_intent["lost_card"]
    assert rejections == {"alice": {"lost-card"}, "bob": set(), "carol": set()}


def test_only_not_helpful_votes_reject_an_article_for_that_customer(
    store: FeedbackStore,
) -> None:
    vote_on_served(store, 1, "alice", "lost-card", False)
    vote_on_served(store, 2, "alice", "card-fee", True)
    vote_on_served(store, 3, "bob", "change-pin", False)
    assert store.rejected_by("alice") == {"lost-card"}
    assert store.rejected_by("bob") == {"change-pin"}
    assert store.rejected_by("carol") == set()


def test_feedback_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    first_engine = create_engine(url)
    upgrade_to_head(first_engine, RECOMMEND_MIGRATIONS)
    vote_on_served(FeedbackStore(first_engine), 1, "alice", "lost-card", False)

    second_engine = create_engine(url)
    upgrade_to_head(second_engine, RECOMMEND_MIGRATIONS)  # idempotent at every start
    second = FeedbackStore(second_engine)
    assert vote_on_served(second, 1, "alice", "lost-card", False) is False
    assert second.rejected_by("alice") == {"lost-card"}


def test_retention_forgets_old_suggestions_and_votes_but_keeps_what_they_taught(
    store: FeedbackStore,
) -> None:
    old, recent = T0, T0 + timedelta(days=100)
    vote_on_served(store, 1, "alice", "lost-card", False, intent="lost_card", at=old)
    vote_on_served(store, 2, "bob", "lost-card", True, intent="lost_card", at=recent)
    store.remember_served("carol", "msg-3", "lost_card", ["lost-card"], served_at=old)

    forgotten = store.forget_before(recent - timedelta(days=30))

    assert (forgotten.suggestions, forgotten.votes) == (2, 1)
    # Learned counts and rejections stay; feedback on forgotten suggestions is refused, so a
    # redelivered old vote can never be counted a second time.
    assert store.posteriors("lost_card") == {"lost-card": DEFAULT_PRIOR.updated(1, 1)}
    assert store.rejected_by("alice") == {"lost-card"}
    with pytest.raises(UnknownMessage):
        vote(store, 1, "msg-1", "alice", "lost-card")
    with pytest.raises(UnknownMessage):
        store.check_feedback("msg-3", "carol", "lost-card")
    store.check_feedback("msg-2", "bob", "lost-card")  # recent: still open to feedback
    assert store.posteriors("lost_card") == {"lost-card": DEFAULT_PRIOR.updated(1, 1)}


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
    store.remember_served("alice", "msg-1", "", ["a"])
    with pytest.raises(ValueError, match="feedback_id"):
        store.record(
            feedback_id="",
            message_id="msg-1",
            customer_id="alice",
            article_id="a",
            helpful=True,
            given_at=T0,
        )
    with pytest.raises(ValueError, match="message_id"):
        store.remember_served("alice", "", "", ["a"])
