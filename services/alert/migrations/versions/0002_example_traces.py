"""Evidence that points to traces: each example message's producer span, beside its id.

`open_buckets` and `alerts` get `example_traces` (JSON, `[{"message_id", "trace_id",
"span_id"}]`). Rows already there keep their example ids and get no traces (`[]`): which spans
produced those messages was never recorded.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("open_buckets", "alerts")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "example_traces", sa.JSON(), nullable=False, server_default=sa.text("'[]'")
                )
            )


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("example_traces")
