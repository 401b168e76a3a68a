"""Each closed bucket's verdict, kept for a while: the time series behind an alert's evidence.

`judged_buckets` holds, per series and bucket, the counts, the negatives expected and the
count that would have spiked. Databases upgraded from 0002 start with an empty history: the
buckets closed before were not kept.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "judged_buckets",
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("negative_count", sa.Integer(), nullable=False),
        sa.Column("total_count", sa.Integer(), nullable=False),
        sa.Column("expected_negatives", sa.Float(), nullable=False),
        sa.Column("spike_threshold_negatives", sa.Integer(), nullable=False),
        sa.Column("spiked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("topic", "channel", "bucket_start"),
    )


def downgrade() -> None:
    op.drop_table("judged_buckets")
