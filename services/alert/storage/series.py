"""The series' tables: each series' monitor state, and the history of its judged buckets."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from services.alert.alerts import SeriesKey
from services.alert.detection.judged_buckets import JudgedBucket
from services.alert.storage import schema


@dataclass(frozen=True)
class SeriesState:
    monitor_state: dict[str, Any]  # its SeriesMonitor's to_state()
    last_closed_bucket: datetime


class SeriesRows:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def last_closed_buckets(self, keys: Collection[SeriesKey]) -> dict[SeriesKey, datetime]:
        table = schema.series
        wanted = set(keys)
        if not wanted:
            return {}
        topics = sorted({key.topic for key in wanted})
        rows = self._connection.execute(
            select(table.c.topic, table.c.channel, table.c.last_closed_bucket).where(
                table.c.topic.in_(topics)
            )
        )
        closed = {SeriesKey(row.topic, row.channel): row.last_closed_bucket for row in rows}
        return {key: moment for key, moment in closed.items() if key in wanted}

    def state(self, key: SeriesKey) -> SeriesState | None:
        table = schema.series
        row = self._connection.execute(
            select(table).where(table.c.topic == key.topic, table.c.channel == key.channel)
        ).first()
        if row is None:
            return None
        return SeriesState(row.monitor_state, row.last_closed_bucket)

    def save_state(self, key: SeriesKey, state: SeriesState) -> None:
        table = schema.series
        values = {
            "monitor_state": state.monitor_state,
            "last_closed_bucket": state.last_closed_bucket,
        }
        updated = self._connection.execute(
            update(table)
            .where(table.c.topic == key.topic, table.c.channel == key.channel)
            .values(**values)
        )
        if updated.rowcount == 0:
            self._connection.execute(
                insert(table).values(topic=key.topic, channel=key.channel, **values)
            )

    def save_judged_buckets(self, key: SeriesKey, buckets: Sequence[JudgedBucket]) -> None:
        if buckets:
            self._connection.execute(
                insert(schema.judged_buckets),
                [
                    {"topic": key.topic, "channel": key.channel, **_judged_values(bucket)}
                    for bucket in buckets
                ],
            )

    def forget_judged_buckets_before(self, key: SeriesKey, moment: datetime) -> None:
        table = schema.judged_buckets
        self._connection.execute(
            delete(table).where(
                table.c.topic == key.topic,
                table.c.channel == key.channel,
                table.c.bucket_start < moment,
            )
        )


def judged_buckets(
    connection: Connection, key: SeriesKey, start: datetime, end: datetime, limit: int
) -> list[JudgedBucket]:
    """The series' judged buckets starting in [start, end), oldest first, at most `limit`."""
    table = schema.judged_buckets
    statement = (
        select(table)
        .where(
            table.c.topic == key.topic,
            table.c.channel == key.channel,
            table.c.bucket_start >= start,
            table.c.bucket_start < end,
        )
        .order_by(table.c.bucket_start)
        .limit(limit)
    )
    return [_judged_from_row(row._mapping) for row in connection.execute(statement)]


def series_with_due_buckets(
    connection: Connection, last_due: datetime, last_closed_before: datetime
) -> list[SeriesKey]:
    """Known series whose last closed bucket is before `last_closed_before`, and series with
    an open bucket starting at or before `last_due`."""
    known = select(schema.series.c.topic, schema.series.c.channel).where(
        schema.series.c.last_closed_bucket <= last_closed_before
    )
    pending = select(schema.open_buckets.c.topic, schema.open_buckets.c.channel).where(
        schema.open_buckets.c.bucket_start <= last_due
    )
    rows = [*connection.execute(known), *connection.execute(pending)]
    return sorted({SeriesKey(row.topic, row.channel) for row in rows})


def _judged_values(bucket: JudgedBucket) -> dict[str, Any]:
    return {
        "bucket_start": bucket.start,
        "negative_count": bucket.negative,
        "total_count": bucket.total,
        "expected_negatives": bucket.expected_negatives,
        "spike_threshold_negatives": bucket.spike_threshold_negatives,
        "spiked": bucket.spiked,
        "expected_messages": bucket.expected_messages,
        "surge_threshold_messages": bucket.surge_threshold_messages,
        "surged": bucket.surged,
    }


def _judged_from_row(row: RowMapping) -> JudgedBucket:
    return JudgedBucket(
        start=row["bucket_start"],
        negative=row["negative_count"],
        total=row["total_count"],
        expected_negatives=row["expected_negatives"],
        spike_threshold_negatives=row["spike_threshold_negatives"],
        spiked=bool(row["spiked"]),
        expected_messages=row["expected_messages"],
        surge_threshold_messages=row["surge_threshold_messages"],
        surged=bool(row["surged"]),
    )
