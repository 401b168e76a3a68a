"""The recommend service's tables (SQLAlchemy Core): the same schema on SQLite and PostgreSQL.

Changes go through a migration (`services/recommend/migrations/`); this is the head schema.
"""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

# Every vote applied, by its feedback_id: a redelivered event changes nothing. Rows older
# than the retention are deleted; by then the suggestion they voted on is gone as well, so a
# redelivery of such an old event is refused, never counted again.
feedback_events = Table(
    "recommend_feedback_events",
    metadata,
    Column("feedback_id", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False, index=True),
    Column("article_id", String(128), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("given_at", DateTime(timezone=True), nullable=False, index=True),
)

# The running Beta posterior of each article for each intent: votes counted as they arrive,
# so ranking reads one row per article instead of the votes.
helpfulness = Table(
    "recommend_helpfulness",
    metadata,
    Column("intent", String(128), primary_key=True),  # "" when the intent was unknown
    Column("article_id", String(128), primary_key=True),
    Column("helpful_count", Integer, nullable=False),
    Column("not_helpful_count", Integer, nullable=False),
)

# Answers a customer marked not helpful: never shown to that customer again.
customer_rejections = Table(
    "recommend_customer_rejections",
    metadata,
    Column("customer_id", String(128), primary_key=True),
    Column("article_id", String(128), primary_key=True),
    Column("rejected_at", DateTime(timezone=True), nullable=False),
)

# Every article suggested for a message, to whom and for which intent: feedback is accepted
# only for these. Kept for the retention period.
served_suggestions = Table(
    "recommend_served_suggestions",
    metadata,
    Column("message_id", String(128), primary_key=True),
    Column("article_id", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False),
    Column("intent", String(128), nullable=False),
    Column("served_at", DateTime(timezone=True), nullable=False, index=True),
)
