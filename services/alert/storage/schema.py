"""The alert service's tables (SQLAlchemy Core): the same schema on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    text,
)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database.

    SQLite has no time zones: values are stored as naive UTC text, whose fixed-width format
    sorts chronologically, so range queries and the page cursor work there too.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


metadata = MetaData()

# `example_traces`: [{"message_id", "trace_id", "span_id"}] for the examples whose record
# carried trace context. Rows written before revision 0002 have none.
NO_EXAMPLE_TRACES = text("'[]'")

# Every message already counted: a redelivered message is recognised by its id.
processed_messages = Table(
    "processed_messages",
    metadata,
    Column("message_id", String(255), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False, index=True),
)

# Counts of buckets not yet fed to their series' monitor.
open_buckets = Table(
    "open_buckets",
    metadata,
    Column("topic", String(255), primary_key=True),
    Column("channel", String(64), primary_key=True),
    Column("bucket_start", UtcDateTime, primary_key=True),
    Column("negative_count", Integer, nullable=False),
    Column("total_count", Integer, nullable=False),
    Column("example_message_ids", JSON, nullable=False),  # a few negative messages' ids
    Column("example_traces", JSON, nullable=False, server_default=NO_EXAMPLE_TRACES),
)

# One row per (topic, channel): its SeriesMonitor's state as of its last closed bucket.
series = Table(
    "series",
    metadata,
    Column("topic", String(255), primary_key=True),
    Column("channel", String(64), primary_key=True),
    Column("monitor_state", JSON, nullable=False),
    Column("last_closed_bucket", UtcDateTime, nullable=False),
)

# What the monitor concluded about each closed bucket, kept for `bucket_history_hours`: the
# time series behind an alert's evidence (GetAlertSeries). The negative share's expectation and
# spike threshold count negatives; the volume's count messages.
judged_buckets = Table(
    "judged_buckets",
    metadata,
    Column("topic", String(255), primary_key=True),
    Column("channel", String(64), primary_key=True),
    Column("bucket_start", UtcDateTime, primary_key=True),
    Column("negative_count", Integer, nullable=False),
    Column("total_count", Integer, nullable=False),
    Column("expected_negatives", Float, nullable=False),
    Column("spike_threshold_negatives", Integer, nullable=False),
    Column("spiked", Boolean, nullable=False),
    Column("expected_messages", Float, nullable=False, server_default=text("0")),
    Column("surge_threshold_messages", Integer, nullable=False, server_default=text("0")),
    Column("surged", Boolean, nullable=False, server_default=false()),
)

alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("topic", String(255), nullable=False),
    Column("channel", String(64), nullable=False),
    # Alerts from before revision 0004 are all negative-share spikes.
    Column("kind", String(32), nullable=False, server_default=text("'negative_share'")),
    Column("state", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("negative_count", BigInteger, nullable=False),
    Column("total_count", BigInteger, nullable=False),
    Column("baseline_negatives", Float, nullable=False),
    Column("baseline_messages", Float, nullable=False, server_default=text("0")),
    Column("score", Float, nullable=False),
    Column("window_start", UtcDateTime, nullable=False),
    Column("window_end", UtcDateTime, nullable=False),
    Column("example_message_ids", JSON, nullable=False),
    Column("example_traces", JSON, nullable=False, server_default=NO_EXAMPLE_TRACES),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("acknowledged_by", String(255)),
    Column("acknowledgement_note", Text),
    Column("acknowledged_at", UtcDateTime),
    Index("ix_alerts_newest_first", "opened_at", "alert_id"),
    Index("ix_alerts_series_kind_state", "topic", "channel", "kind", "state"),
)

# The outbox: one row per lifecycle change, written in the transaction that made the change.
# `sequence` is the AlertEvent's sequence and the SSE event id.
alert_events = Table(
    "alert_events",
    metadata,
    # SQLite autoincrements only an INTEGER primary key; elsewhere 64 bits.
    Column(
        "sequence",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("alert_id", String(64), ForeignKey(alerts.c.alert_id), nullable=False),
    Column("topic", String(255), nullable=False),  # the Kafka record key
    # The alert as of this change (storage/snapshots.py); each edge encodes it as it needs.
    Column("alert_snapshot", JSON, nullable=False),
    Column("published", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_alert_events_unpublished", "published", "sequence"),
    sqlite_autoincrement=True,  # never reuse a sequence number, even after deletes
)

# Notification outbox: one row per (lifecycle event, destination), written in the transaction
# that wrote the event, so a restart resumes exactly the deliveries still pending.
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("destination", String(255), primary_key=True),
    Column("sequence", BigInteger, ForeignKey(alert_events.c.sequence), primary_key=True),
    Column("state", String(16), nullable=False),  # pending | delivered | dead_lettered
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_alert_deliveries_pending", "destination", "state", "sequence"),
)
