"""Initial schema: the tables the alert service created with `create_all` before migrations.

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

# services.alert.schema.UtcDateTime stores this type; migrations never import app types.
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "processed_messages",
        sa.Column("message_id", sa.String(255), primary_key=True),
        sa.Column("processed_at", UTC_DATETIME, nullable=False),
    )
    op.create_index("ix_processed_messages_processed_at", "processed_messages", ["processed_at"])
    op.create_table(
        "open_buckets",
        sa.Column("topic", sa.String(255), primary_key=True),
        sa.Column("channel", sa.String(64), primary_key=True),
        sa.Column("bucket_start", UTC_DATETIME, primary_key=True),
        sa.Column("negative_count", sa.Integer(), nullable=False),
        sa.Column("total_count", sa.Integer(), nullable=False),
        sa.Column("example_message_ids", sa.JSON(), nullable=False),
    )
    op.create_table(
        "series",
        sa.Column("topic", sa.String(255), primary_key=True),
        sa.Column("channel", sa.String(64), primary_key=True),
        sa.Column("monitor_state", sa.JSON(), nullable=False),
        sa.Column("last_closed_bucket", UTC_DATETIME, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("negative_count", sa.BigInteger(), nullable=False),
        sa.Column("total_count", sa.BigInteger(), nullable=False),
        sa.Column("baseline_negatives", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("window_start", UTC_DATETIME, nullable=False),
        sa.Column("window_end", UTC_DATETIME, nullable=False),
        sa.Column("example_message_ids", sa.JSON(), nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("resolved_at", UTC_DATETIME),
        sa.Column("acknowledged_by", sa.String(255)),
        sa.Column("acknowledgement_note", sa.Text()),
        sa.Column("acknowledged_at", UTC_DATETIME),
    )
    op.create_index("ix_alerts_newest_first", "alerts", ["opened_at", "alert_id"])
    op.create_index("ix_alerts_series_state", "alerts", ["topic", "channel", "state"])
    op.create_table(
        "alert_events",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("alert_id", sa.String(64), sa.ForeignKey("alerts.alert_id"), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("alert", sa.LargeBinary(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alert_events_unpublished", "alert_events", ["published", "sequence"])
    op.create_table(
        "alert_deliveries",
        sa.Column("destination", sa.String(255), primary_key=True),
        sa.Column(
            "sequence",
            sa.BigInteger(),
            sa.ForeignKey("alert_events.sequence"),
            primary_key=True,
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
    )
    op.create_index(
        "ix_alert_deliveries_pending", "alert_deliveries", ["destination", "state", "sequence"]
    )


def downgrade() -> None:
    for table in (
        "alert_deliveries",
        "alert_events",
        "alerts",
        "series",
        "open_buckets",
        "processed_messages",
    ):
        op.drop_table(table)  # drops the table's indexes with it
