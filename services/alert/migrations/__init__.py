"""The alert service's schema history (Alembic); applied at start by servicekit.migrations.

New revision: `DATABASE_URL=sqlite:///.data/alert.db .venv/bin/alembic -c
services/alert/migrations/alembic.ini revision --autogenerate -m "what changes"`, then read
and edit what it wrote under versions/.
"""

from pathlib import Path

from servicekit.migrations import MigrationSet
from services.alert.storage import schema

ALERT_MIGRATIONS = MigrationSet(
    directory=Path(__file__).parent,
    metadata=schema.metadata,
    version_table="alert_alembic_version",
    # The tables `create_all` made before there were migrations; such a database is adopted.
    baseline_revision="0001",
    baseline_tables=frozenset(
        {
            "processed_messages",
            "open_buckets",
            "series",
            "alerts",
            "alert_events",
            "alert_deliveries",
        }
    ),
)
