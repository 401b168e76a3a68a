"""Alert's tables as `create_all` made them before migrations (revision 0001), with data.

Frozen on purpose: the code's schema moves on, a database made by an older version does not.
"""

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

T_LEGACY = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
LEGACY_EXAMPLES = ["m-old-1", "m-old-2"]
LEGACY_ALERT_ID = "a-old"

metadata = MetaData()
processed_messages = Table(
    "processed_messages",
    metadata,
    Column("message_id", String(255), primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False, index=True),
)
open_buckets = Table(
    "open_buckets",
    metadata,
    Column("topic", String(255), primary_key=True),
    Column("channel", String(64), primary_key=True),
    Column("bucket_start", DateTime(timezone=True), primary_key=True),
    Column("negative_count", Integer, nullable=False),
    Column("total_count", Integer, nullable=False),
    Column("example_message_ids", JSON, nullable=False),
)
series = Table(
    "series",
    metadata,
    Column("topic", String(255), primary_key=True),
    Column("channel", String(64), primary_key=True),
    Column("monitor_state", JSON, nullable=False),
    Column("last_closed_bucket", DateTime(timezone=True), nullable=False),
)
alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("topic", String(255), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("negative_count", BigInteger, nullable=False),
    Column("total_count", BigInteger, nullable=False),
    Column("baseline_negatives", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("example_message_ids", JSON, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("acknowledged_by", String(255)),
    Column("acknowledgement_note", Text),
    Column("acknowledged_at", DateTime(timezone=True)),
    Index("ix_alerts_newest_first", "opened_at", "alert_id"),
    Index("ix_alerts_series_state", "topic", "channel", "state"),
)
alert_events = Table(
    "alert_events",
    metadata,
    Column(
        "sequence",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("alert_id", String(64), ForeignKey(alerts.c.alert_id), nullable=False),
    Column("topic", String(255), nullable=False),
    Column("alert", LargeBinary, nullable=False),
    Column("published", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_alert_events_unpublished", "published", "sequence"),
    sqlite_autoincrement=True,
)
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("destination", String(255), primary_key=True),
    Column("sequence", BigInteger, ForeignKey(alert_events.c.sequence), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_alert_deliveries_pending", "destination", "state", "sequence"),
)


def create_legacy_database(engine: Engine) -> None:
    """The old service's `create_all`, and what it had stored: an open bucket and a firing
    alert on card_declined/chat, whose examples are message ids only."""
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            processed_messages.insert(), [{"message_id": "m-old-1", "processed_at": T_LEGACY}]
        )
        connection.execute(
            open_buckets.insert(),
            [
                {
                    "topic": "card_declined",
                    "channel": "chat",
                    "bucket_start": T_LEGACY,
                    "negative_count": 2,
                    "total_count": 3,
                    "example_message_ids": LEGACY_EXAMPLES,
                }
            ],
        )
        connection.execute(
            alerts.insert(),
            [
                {
                    "alert_id": LEGACY_ALERT_ID,
                    "topic": "card_declined",
                    "channel": "chat",
                    "state": "firing",
                    "severity": "warning",
                    "negative_count": 2,
                    "total_count": 3,
                    "baseline_negatives": 0.5,
                    "score": 0.7,
                    "window_start": T_LEGACY,
                    "window_end": T_LEGACY,
                    "example_message_ids": LEGACY_EXAMPLES,
                    "opened_at": T_LEGACY,
                    "updated_at": T_LEGACY,
                }
            ],
        )
