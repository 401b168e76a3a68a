"""What customers told us about suggestions, stored so that learning survives restarts.

`FeedbackStore` keeps, in SQL (SQLite or PostgreSQL, SQLAlchemy Core):
  * every feedback event by its `feedback_id`, so a redelivered event changes nothing;
  * per-article helpful / not-helpful counts, the evidence of each article's Beta posterior;
  * per-customer rejected article ids (answers a customer marked not helpful);
  * per-customer recent history of the suggestions served, by `message_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


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

# How many served messages per customer are kept; older ones are pruned on insert.
DEFAULT_SERVED_HISTORY = 50


class UnsupportedDatabase(RuntimeError):
    """The engine's dialect is neither SQLite nor PostgreSQL."""


@dataclass(frozen=True)
class ServedSuggestions:
    """The articles suggested in reply to one customer message, best first."""

    message_id: str
    customer_id: str
    article_ids: tuple[str, ...]
    served_at: datetime


_metadata = MetaData()

_feedback_events = Table(
    "recommend_feedback_events",
    _metadata,
    Column("feedback_id", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False, index=True),
    Column("article_id", String(128), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("given_at", DateTime(timezone=True), nullable=False),
)

_article_votes = Table(
    "recommend_article_votes",
    _metadata,
    Column("article_id", String(128), primary_key=True),
    Column("helpful_count", Integer, nullable=False),
    Column("not_helpful_count", Integer, nullable=False),
)

_customer_rejections = Table(
    "recommend_customer_rejections",
    _metadata,
    Column("customer_id", String(128), primary_key=True),
    Column("article_id", String(128), primary_key=True),
    Column("rejected_at", DateTime(timezone=True), nullable=False),
)

_served_messages = Table(
    "recommend_served_messages",
    _metadata,
    Column("message_id", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False, index=True),
    Column("article_ids", JSON, nullable=False),
    Column("served_at", DateTime(timezone=True), nullable=False, index=True),
)


class FeedbackStore:
    """Feedback events, per-article vote counts and per-customer history in one database.

    Every write is one transaction and idempotent by its event id, so at-least-once delivery
    (Kafka redelivery, client retries) never double counts.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        prior: BetaPosterior = DEFAULT_PRIOR,
        served_history: int = DEFAULT_SERVED_HISTORY,
    ) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise UnsupportedDatabase(
                f"FeedbackStore supports sqlite and postgresql, not {engine.dialect.name!r}"
            )
        if served_history < 1:
            raise ValueError(f"served_history must be >= 1, got {served_history}")
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self.prior = prior
        self.served_history = served_history

    def create_tables(self) -> None:
        """Create the store's tables if they do not exist (safe to call at every start)."""
        _metadata.create_all(self._engine, checkfirst=True)

    def record(
        self,
        feedback_id: str,
        customer_id: str,
        article_id: str,
        helpful: bool,
        given_at: datetime,
    ) -> bool:
        """Apply one feedback event; False (and no change) if `feedback_id` was seen before.

        A "not helpful" vote also adds the article to the customer's rejected set, for good:
        a customer is never shown an answer they rejected.
        """
        for name, value in (
            ("feedback_id", feedback_id),
            ("customer_id", customer_id),
            ("article_id", article_id),
        ):
            _require_id(name, value)
        with self._engine.begin() as conn:
            inserted = conn.execute(
                self._insert(_feedback_events)
                .values(
                    feedback_id=feedback_id,
                    customer_id=customer_id,
                    article_id=article_id,
                    helpful=helpful,
                    given_at=given_at,
                )
                .on_conflict_do_nothing(index_elements=["feedback_id"])
                # RETURNING, not rowcount: drivers need not report rowcount for an INSERT
                # (psycopg 3 under SQLAlchemy 2.1 reports -1), but a row comes back only if
                # this statement inserted it.
                .returning(_feedback_events.c.feedback_id)
            )
            if inserted.first() is None:
                return False
            self._count_vote(conn, article_id, helpful)
            if not helpful:
                conn.execute(
                    self._insert(_customer_rejections)
                    .values(customer_id=customer_id, article_id=article_id, rejected_at=given_at)
                    .on_conflict_do_nothing(index_elements=["customer_id", "article_id"])
                )
        return True

    def posteriors(self) -> dict[str, BetaPosterior]:
        """Prior updated with the votes, for every article that has any feedback."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    _article_votes.c.article_id,
                    _article_votes.c.helpful_count,
                    _article_votes.c.not_helpful_count,
                )
            ).all()
        return {article_id: self.prior.updated(h, n) for article_id, h, n in rows}

    def rejected_by(self, customer_id: str) -> set[str]:
        """Ids of the articles this customer marked as not helpful."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(_customer_rejections.c.article_id).where(
                    _customer_rejections.c.customer_id == customer_id
                )
            ).scalars()
            return set(rows)

    def remember_served(
        self,
        customer_id: str,
        message_id: str,
        article_ids: Sequence[str],
        *,
        served_at: datetime | None = None,
    ) -> bool:
        """Record what was suggested for a message; False (and no change) if already recorded.

        Only the newest `served_history` messages per customer are kept.
        """
        _require_id("customer_id", customer_id)
        _require_id("message_id", message_id)
        with self._engine.begin() as conn:
            inserted = conn.execute(
                self._insert(_served_messages)
                .values(
                    message_id=message_id,
                    customer_id=customer_id,
                    article_ids=list(article_ids),
                    served_at=served_at or datetime.now(UTC),
                )
                .on_conflict_do_nothing(index_elements=["message_id"])
                .returning(_served_messages.c.message_id)  # see record(): not rowcount
            )
            if inserted.first() is None:
                return False
            keep = (
                select(_served_messages.c.message_id)
                .where(_served_messages.c.customer_id == customer_id)
                .order_by(_served_messages.c.served_at.desc(), _served_messages.c.message_id)
                .limit(self.served_history)
            )
            conn.execute(
                delete(_served_messages).where(
                    _served_messages.c.customer_id == customer_id,
                    _served_messages.c.message_id.not_in(keep.scalar_subquery()),
                )
            )
        return True

    def recently_served(self, customer_id: str, limit: int = 10) -> list[ServedSuggestions]:
        """The customer's most recent served suggestions, newest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    _served_messages.c.message_id,
                    _served_messages.c.article_ids,
                    _served_messages.c.served_at,
                )
                .where(_served_messages.c.customer_id == customer_id)
                .order_by(_served_messages.c.served_at.desc(), _served_messages.c.message_id)
                .limit(limit)
            ).all()
        return [
            ServedSuggestions(message_id, customer_id, tuple(ids), served_at)
            for message_id, ids, served_at in rows
        ]

    def _count_vote(self, conn: Connection, article_id: str, helpful: bool) -> None:
        column = "helpful_count" if helpful else "not_helpful_count"
        conn.execute(
            self._insert(_article_votes)
            .values(article_id=article_id, helpful_count=0, not_helpful_count=0)
            .on_conflict_do_nothing(index_elements=["article_id"])
        )
        conn.execute(
            update(_article_votes)
            .where(_article_votes.c.article_id == article_id)
            .values({column: _article_votes.c[column] + 1})
        )


def _require_id(name: str, value: str) -> None:
    if not value:
        raise ValueError(f"{name} must be a non-empty string")
