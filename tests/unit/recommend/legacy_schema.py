"""Recommend's tables as `create_all` made them before migrations (revision 0001), with data.

Frozen on purpose: the code's schema moves on, a database made by an older version does not.
"""

from datetime import UTC, datetime

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
)

T_LEGACY = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

metadata = MetaData()
feedback_events = Table(
    "recommend_feedback_events",
    metadata,
    Column("feedback_id", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False, index=True),
    Column("article_id", String(128), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("given_at", DateTime(timezone=True), nullable=False),
)
article_votes = Table(
    "recommend_article_votes",
    metadata,
    Column("article_id", String(128), primary_key=True),
    Column("helpful_count", Integer, nullable=False),
    Column("not_helpful_count", Integer, nullable=False),
)
customer_rejections = Table(
    "recommend_customer_rejections",
    metadata,
    Column("customer_id", String(128), primary_key=True),
    Column("article_id", String(128), primary_key=True),
    Column("rejected_at", DateTime(timezone=True), nullable=False),
)
served_messages = Table(
    "recommend_served_messages",
    metadata,
    Column("message_id", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False, index=True),
    Column("article_ids", JSON, nullable=False),
    Column("served_at", DateTime(timezone=True), nullable=False, index=True),
)


def create_legacy_database(engine: Engine) -> None:
    """The old service's `create_all`, and what it had stored: alice voted lost-card down."""
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            served_messages.insert(),
            [
                {
                    "message_id": "msg-old",
                    "customer_id": "alice",
                    "article_ids": ["lost-card", "card-fee"],
                    "served_at": T_LEGACY,
                }
            ],
        )
        connection.execute(
            feedback_events.insert(),
            [
                {
                    "feedback_id": "fb-old",
                    "customer_id": "alice",
                    "article_id": "lost-card",
                    "helpful": False,
                    "given_at": T_LEGACY,
                }
            ],
        )
        connection.execute(
            article_votes.insert(),
            [{"article_id": "lost-card", "helpful_count": 3, "not_helpful_count": 1}],
        )
        connection.execute(
            customer_rejections.insert(),
            [{"customer_id": "alice", "article_id": "lost-card", "rejected_at": T_LEGACY}],
        )
