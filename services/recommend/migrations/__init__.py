"""The recommend service's schema history (Alembic); applied at start by servicekit.migrations.

New revision: `DATABASE_URL=sqlite:///.data/recommend.db .venv/bin/alembic -c
services/recommend/migrations/alembic.ini revision --autogenerate -m "what changes"`, then
read and edit what it wrote under versions/.
"""

from pathlib import Path

from servicekit.migrations import MigrationSet
from services.recommend import schema

RECOMMEND_MIGRATIONS = MigrationSet(
    directory=Path(__file__).parent,
    metadata=schema.metadata,
    version_table="recommend_alembic_version",
    # The tables `create_all` made before there were migrations; such a database is adopted.
    baseline_revision="0001",
    baseline_tables=frozenset(
        {
            "recommend_feedback_events",
            "recommend_article_votes",
            "recommend_customer_rejections",
            "recommend_served_messages",
        }
    ),
)
