"""What customers told us about suggestions, stored so that learning survives restarts.

`FeedbackStore` keeps, in SQL (SQLite or PostgreSQL, SQLAlchemy Core; tables in schema.py):
  * every article suggested for a message: to whom and for which intent. Feedback is accepted
    only for these, from the customer they were served to;
  * every vote by its `feedback_id`, so a redelivered event changes nothing;
  * per (intent, article) helpful / not-helpful counts, the evidence of the Beta posterior the
    ranker uses, updated as each vote is applied;
  * per-customer rejected article ids (answers a customer marked not helpful).

Served suggestions and votes are kept for the retention period (`forget_before`); the counts
and rejections they produced are kept for good.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from services.recommend.schema import (
    customer_rejections,
    feedback_events,
    helpfulness,
    served_suggestions,
)


@dataclass(frozen=True)
class BetaPosterior:
    """Beta(alpha, beta) belief about the probability that an article is helpful."""

    alpha: float
    beta: float

    def __post_init__(self) -> None:
        if not (self.alpha > 0 and self.beta > 0):
            raise ValueError(f"alpha and beta must be > 0, got {self.alpha}, {self.beta}")

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def sample(self, rng: np.random.Generator) -> float:
        """One Thompson draw: a plausible helpful-rate given the evidence so far."""
        return float(rng.beta(self.alpha, self.beta))

    def updated(self, helpful: int, not_helpful: int) -> BetaPosterior:
        """This belief after observing `helpful` and `not_helpful` votes."""
        return BetaPosterior(self.alpha + helpful, self.beta + not_helpful)


# Weak prior: a new article counts as "half helpful" on 2 pseudo-votes each way, so a handful
# of real votes dominates it while cold-start Thompson draws stay moderately noisy.
DEFAULT_PRIOR = BetaPosterior(alpha=2.0, beta=2.0)

# Votes outlive the suggestions they are about by this much, so that clocks of ingest (which
# stamps votes) and recommend (which stamps suggestions) a little apart never leave a vote's
# suggestion without the vote: a redelivered old vote then always finds its suggestion gone
# and is refused, never counted twice.
_VOTE_RETENTION_MARGIN = timedelta(days=1)


class UnsupportedDatabase(RuntimeError):
    """The engine's dialect is neither SQLite nor PostgreSQL."""


class FeedbackRejected(Exception):
    """Feedback that does not match a suggestion served: never counted."""

    reason = "rejected"


class UnknownMessage(FeedbackRejected):
    """No suggestions were served for this message to this customer.

    The message is unknown, older than the retention, or another customer's: deliberately
    one answer, so that nobody learns whose a message id is.
    """

    reason = "unknown_message"

    def __init__(self, message_id: str) -> None:
        super().__init__(f"no suggestions were served for message {message_id!r} to this customer")


class ArticleNotSuggested(FeedbackRejected):
    """The message got suggestions, but not this article."""

    reason = "article_not_suggested"

    def __init__(self, message_id: str, article_id: str) -> None:
        super().__init__(f"article {article_id!r} was not suggested for message {message_id!r}")


@dataclass(frozen=True)
class ServedSuggestion:
    """One article suggested in reply to one customer message."""

    message_id: str
    article_id: str
    customer_id: str
    intent: str  # "" when the intent was unknown
    served_at: datetime


@dataclass(frozen=True)
class Served:
    """The articles suggested for one message, to record before feedback can name them."""

    customer_id: str
    message_id: str
    intent: str  # "" when the intent was unknown
    article_ids: tuple[str, ...]


@dataclass(frozen=True)
class Forgotten:
    """What one retention run deleted."""

    votes: int
    suggestions: int


class FeedbackStore:
    """Served suggestions, votes, running posteriors and rejections in one database.

    Every write is one transaction and idempotent by its id, so at-least-once delivery
    (Kafka redelivery, client retries) never double counts. The schema is created and
    upgraded by the service's migrations (services.recommend.migrations), not here.
    """

    def __init__(self, engine: Engine, *, prior: BetaPosterior = DEFAULT_PRIOR) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise UnsupportedDatabase(
                f"FeedbackStore supports sqlite and postgresql, not {engine.dialect.name!r}"
            )
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self.prior = prior

    def remember_served(
        self,
        customer_id: str,
        message_id: str,
        intent: str,
        article_ids: Sequence[str],
        *,
        served_at: datetime | None = None,
    ) -> bool:
        """Record the articles suggested for one message; False if nothing new was recorded."""
        served = Served(customer_id, message_id, intent, tuple(article_ids))
        return bool(self.remember_served_batch([served], served_at=served_at))

    def remember_served_batch(
        self, batch: Sequence[Served], *, served_at: datetime | None = None
    ) -> set[str]:
        """Record what was suggested for each message, in one transaction; the ids of the
        messages for which something new was recorded.

        A message belongs to the first customer it was served to: serving it again (a retry,
        or its prepared suggestions) adds the new articles for that customer and ignores a
        call naming another customer, within a batch as across batches.
        """
        for served in batch:
            _require_id("customer_id", served.customer_id)
            _require_id("message_id", served.message_id)
        batch = [served for served in batch if served.article_ids]
        if not batch:
            return set()
        at = served_at or datetime.now(UTC)
        recorded: set[str] = set()
        with self._engine.begin() as conn:
            owners = self._owners(conn, {served.message_id for served in batch})
            rows: dict[tuple[str, str], dict[str, object]] = {}
            for served in batch:
                owner = owners.setdefault(served.message_id, served.customer_id)
                if owner != served.customer_id:
                    continue
                for article_id in served.article_ids:
                    rows.setdefault(
                        (served.message_id, article_id),
                        {
                            "message_id": served.message_id,
                            "article_id": article_id,
                            "customer_id": served.customer_id,
                            "intent": served.intent,
                            "served_at": at,
                        },
                    )
            if rows:
                # One cached statement run over every row (SQLAlchemy's "insertmanyvalues"
                # sends them in pages); RETURNING, not rowcount: drivers need not report
                # rowcount for an INSERT (psycopg 3 under SQLAlchemy 2.1 reports -1), but a row
                # comes back only if this statement inserted it.
                inserted = conn.execute(
                    self._insert(served_suggestions)
                    .on_conflict_do_nothing(index_elements=["message_id", "article_id"])
                    .returning(served_suggestions.c.message_id),
                    list(rows.values()),
                ).scalars()
                recorded.update(inserted)
        return recorded

    def check_feedback(
        self, message_id: str, customer_id: str, article_id: str
    ) -> ServedSuggestion:
        """The suggestion this feedback is about; raises FeedbackRejected if none was served."""
        with self._engine.connect() as conn:
            return self._served(conn, message_id, customer_id, article_id)

    def record(
        self,
        *,
        feedback_id: str,
        message_id: str,
        customer_id: str,
        article_id: str,
        helpful: bool,
        given_at: datetime,
    ) -> bool:
        """Apply one vote; False (and no change) if `feedback_id` was applied before.

        Raises FeedbackRejected (and changes nothing) unless the article was suggested for the
        message to that customer. The vote counts towards the article's posterior for the
        intent it was suggested for. A "not helpful" vote also adds the article to the
        customer's rejected set, for good: a customer is never shown an answer they rejected.
        """
        for name, value in (("feedback_id", feedback_id), ("article_id", article_id)):
            _require_id(name, value)
        with self._engine.begin() as conn:
            served = self._served(conn, message_id, customer_id, article_id)
            inserted = conn.execute(
                self._insert(feedback_events)
                .values(
                    feedback_id=feedback_id,
                    customer_id=customer_id,
                    article_id=article_id,
                    helpful=helpful,
                    given_at=given_at,
                )
                .on_conflict_do_nothing(index_elements=["feedback_id"])
                .returning(feedback_events.c.feedback_id)  # see remember_served: not rowcount
            )
            if inserted.first() is None:
                return False
            self._count_vote(conn, served.intent, article_id, helpful)
            if not helpful:
                conn.execute(
                    self._insert(customer_rejections)
                    .values(customer_id=customer_id, article_id=article_id, rejected_at=given_at)
                    .on_conflict_do_nothing(index_elements=["customer_id", "article_id"])
                )
        return True

    def posteriors(self, intent: str) -> dict[str, BetaPosterior]:
        """Prior updated with the votes, for every article voted on for this intent."""
        return self.posteriors_by_intent([intent])[intent]

    def posteriors_by_intent(self, intents: Iterable[str]) -> dict[str, dict[str, BetaPosterior]]:
        """`posteriors` of each intent, in one indexed read of at most one row per article
        and intent: the counts are kept up to date as votes arrive, so no vote is read here.
        """
        wanted = set(intents)
        found: dict[str, dict[str, BetaPosterior]] = {intent: {} for intent in wanted}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    helpfulness.c.intent,
                    helpfulness.c.article_id,
                    helpfulness.c.helpful_count,
                    helpfulness.c.not_helpful_count,
                ).where(helpfulness.c.intent.in_(wanted))
            ).all()
        for intent, article_id, helpful, not_helpful in rows:
            found[intent][article_id] = self.prior.updated(helpful, not_helpful)
        return found

    def rejected_by(self, customer_id: str) -> set[str]:
        """Ids of the articles this customer marked as not helpful."""
        return self.rejected_by_customers([customer_id])[customer_id]

    def rejected_by_customers(self, customer_ids: Iterable[str]) -> dict[str, set[str]]:
        """`rejected_by` of each customer, in one read."""
        wanted = set(customer_ids)
        found: dict[str, set[str]] = {customer_id: set() for customer_id in wanted}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(customer_rejections.c.customer_id, customer_rejections.c.article_id).where(
                    customer_rejections.c.customer_id.in_(wanted)
                )
            ).all()
        for customer_id, article_id in rows:
            found[customer_id].add(article_id)
        return found

    def forget_before(self, cutoff: datetime) -> Forgotten:
        """Delete suggestions served before `cutoff` and the votes given before then.

        Feedback on a forgotten suggestion is refused from then on, so the posteriors and
        rejections stay as they are and nothing can be counted twice.
        """
        with self._engine.begin() as conn:
            suggestions = conn.execute(
                delete(served_suggestions).where(served_suggestions.c.served_at < cutoff)
            ).rowcount
            votes = conn.execute(
                delete(feedback_events).where(
                    feedback_events.c.given_at < cutoff - _VOTE_RETENTION_MARGIN
                )
            ).rowcount
        return Forgotten(votes=votes, suggestions=suggestions)

    def _owners(self, conn: Connection, message_ids: set[str]) -> dict[str, str]:
        """The customer each of these messages was first served to, where it was."""
        rows = conn.execute(
            select(served_suggestions.c.message_id, served_suggestions.c.customer_id)
            .where(served_suggestions.c.message_id.in_(message_ids))
            .distinct()
        ).all()
        return {message_id: customer_id for message_id, customer_id in rows}

    def _served(
        self, conn: Connection, message_id: str, customer_id: str, article_id: str
    ) -> ServedSuggestion:
        if not (message_id and customer_id):
            raise UnknownMessage(message_id)
        rows = conn.execute(
            select(
                served_suggestions.c.article_id,
                served_suggestions.c.intent,
                served_suggestions.c.served_at,
            ).where(
                served_suggestions.c.message_id == message_id,
                served_suggestions.c.customer_id == customer_id,
            )
        ).all()
        if not rows:
            raise UnknownMessage(message_id)
        for served_article, intent, served_at in rows:
            if served_article == article_id:
                return ServedSuggestion(message_id, article_id, customer_id, intent, served_at)
        raise ArticleNotSuggested(message_id, article_id)

    def _count_vote(self, conn: Connection, intent: str, article_id: str, helpful: bool) -> None:
        column = "helpful_count" if helpful else "not_helpful_count"
        conn.execute(
            self._insert(helpfulness)
            .values(
                intent=intent,
                article_id=article_id,
                helpful_count=int(helpful),
                not_helpful_count=int(not helpful),
            )
            .on_conflict_do_update(
                index_elements=["intent", "article_id"],
                set_={column: helpfulness.c[column] + 1},
            )
        )


def _require_id(name: str, value: str) -> None:
    if not value:
        raise ValueError(f"{name} must be a non-empty string")
