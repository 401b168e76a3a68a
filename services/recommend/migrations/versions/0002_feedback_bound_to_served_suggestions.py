"""Feedback bound to served suggestions; running posteriors per article and intent; retention.

* `recommend_served_messages` (one row per message, article ids as JSON, the newest 50 per
  customer) becomes `recommend_served_suggestions`: one row per (message, article), with the
  customer and the intent it was served for, so feedback can be checked against it with one
  key lookup. Existing rows are carried over with the intent unknown ("").
* `recommend_article_votes` (per article) becomes `recommend_helpfulness` (per intent and
  article); existing counts are carried over under the unknown intent ("").
* `recommend_feedback_events.given_at` gets an index, for the retention job.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNKNOWN_INTENT = ""
_CHUNK = 1000

_votes = sa.table(
    "recommend_article_votes",
    sa.column("article_id", sa.String),
    sa.column("helpful_count", sa.Integer),
    sa.column("not_helpful_count", sa.Integer),
)
_served_messages = sa.table(
    "recommend_served_messages",
    sa.column("message_id", sa.String),
    sa.column("customer_id", sa.String),
    sa.column("article_ids", sa.JSON),
    sa.column("served_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    helpfulness = op.create_table(
        "recommend_helpfulness",
        sa.Column("intent", sa.String(128), primary_key=True),
        sa.Column("article_id", sa.String(128), primary_key=True),
        sa.Column("helpful_count", sa.Integer(), nullable=False),
        sa.Column("not_helpful_count", sa.Integer(), nullable=False),
    )
    served = op.create_table(
        "recommend_served_suggestions",
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("article_id", sa.String(128), primary_key=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("intent", sa.String(128), nullable=False),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_recommend_served_suggestions_served_at",
        "recommend_served_suggestions",
        ["served_at"],
    )
    op.create_index(
        "ix_recommend_feedback_events_given_at", "recommend_feedback_events", ["given_at"]
    )
    assert helpfulness is not None and served is not None
    bind = op.get_bind()
    bind.execute(
        helpfulness.insert().from_select(
            ["intent", "article_id", "helpful_count", "not_helpful_count"],
            sa.select(
                sa.literal(_UNKNOWN_INTENT),
                _votes.c.article_id,
                _votes.c.helpful_count,
                _votes.c.not_helpful_count,
            ),
        )
    )
    rows = bind.execute(sa.select(_served_messages)).mappings().all()
    expanded = [
        {
            "message_id": row["message_id"],
            "article_id": article_id,
            "customer_id": row["customer_id"],
            "intent": _UNKNOWN_INTENT,
            "served_at": row["served_at"],
        }
        for row in rows
        for article_id in dict.fromkeys(row["article_ids"])  # once each, in served order
    ]
    for start in range(0, len(expanded), _CHUNK):
        bind.execute(served.insert(), expanded[start : start + _CHUNK])
    op.drop_table("recommend_article_votes")
    op.drop_table("recommend_served_messages")


def downgrade() -> None:
    votes = op.create_table(
        "recommend_article_votes",
        sa.Column("article_id", sa.String(128), primary_key=True),
        sa.Column("helpful_count", sa.Integer(), nullable=False),
        sa.Column("not_helpful_count", sa.Integer(), nullable=False),
    )
    served_messages = op.create_table(
        "recommend_served_messages",
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("article_ids", sa.JSON(), nullable=False),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_recommend_served_messages_customer_id", "recommend_served_messages", ["customer_id"]
    )
    op.create_index(
        "ix_recommend_served_messages_served_at", "recommend_served_messages", ["served_at"]
    )
    assert votes is not None and served_messages is not None
    helpfulness = sa.table(
        "recommend_helpfulness",
        sa.column("article_id", sa.String),
        sa.column("helpful_count", sa.Integer),
        sa.column("not_helpful_count", sa.Integer),
    )
    served = sa.table(
        "recommend_served_suggestions",
        sa.column("message_id", sa.String),
        sa.column("article_id", sa.String),
        sa.column("customer_id", sa.String),
        sa.column("served_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    bind.execute(
        votes.insert().from_select(
            ["article_id", "helpful_count", "not_helpful_count"],
            sa.select(
                helpfulness.c.article_id,
                sa.func.sum(helpfulness.c.helpful_count),
                sa.func.sum(helpfulness.c.not_helpful_count),
            ).group_by(helpfulness.c.article_id),
        )
    )
    by_message: dict[str, dict[str, object]] = {}
    for row in bind.execute(sa.select(served).order_by(served.c.served_at)).mappings():
        message = by_message.setdefault(
            row["message_id"],
            {
                "message_id": row["message_id"],
                "customer_id": row["customer_id"],
                "article_ids": [],
                "served_at": row["served_at"],
            },
        )
        article_ids = message["article_ids"]
        assert isinstance(article_ids, list)
        article_ids.append(row["article_id"])
    messages = list(by_message.values())
    for start in range(0, len(messages), _CHUNK):
        bind.execute(served_messages.insert(), messages[start : start + _CHUNK])
    op.drop_table("recommend_served_suggestions")
    op.drop_table("recommend_helpfulness")
    op.drop_index("ix_recommend_feedback_events_given_at", "recommend_feedback_events")
