"""Initial schema: the tables the recommend service created with `create_all` before migrations.

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recommend_feedback_events",
        sa.Column("feedback_id", sa.String(128), primary_key=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("article_id", sa.String(128), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_recommend_feedback_events_customer_id", "recommend_feedback_events", ["customer_id"]
    )
    op.create_table(
        "recommend_article_votes",
        sa.Column("article_id", sa.String(128), primary_key=True),
        sa.Column("helpful_count", sa.Integer(), nullable=False),
        sa.Column("not_helpful_count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "recommend_customer_rejections",
        sa.Column("customer_id", sa.String(128), primary_key=True),
        sa.Column("article_id", sa.String(128), primary_key=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
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


def downgrade() -> None:
    for table in (
        "recommend_served_messages",
        "recommend_customer_rejections",
        "recommend_article_votes",
        "recommend_feedback_events",
    ):
        op.drop_table(table)
