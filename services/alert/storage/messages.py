"""Counting's tables: the ids of messages already counted, and the counts of open buckets."""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, delete, insert, select, tuple_, update

from services.alert.alerts import ExampleMessage, SeriesKey, SpanRef
from services.alert.buckets import BucketTally
from services.alert.storage import schema

# Bound parameters per IN (...) list: well under SQLite's and PostgreSQL's limits.
_IN_CHUNK = 500


class MessageRows:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def unseen_ids(self, message_ids: Collection[str]) -> set[str]:
        table = schema.processed_messages
        unseen = set(message_ids)
        ids = list(unseen)
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            seen = self._connection.execute(
                select(table.c.message_id).where(table.c.message_id.in_(chunk))
            )
            unseen.difference_update(row.message_id for row in seen)
        return unseen

    def mark_processed(self, message_ids: Collection[str], at: datetime) -> None:
        if message_ids:
            self._connection.execute(
                insert(schema.processed_messages),
                [{"message_id": message_id, "processed_at": at} for message_id in message_ids],
            )

    def forget_processed_before(self, moment: datetime) -> int:
        """Drop ids older than any record Kafka could still redeliver; returns how many."""
        table = schema.processed_messages
        result = self._connection.execute(delete(table).where(table.c.processed_at < moment))
        return int(result.rowcount)

    def add_to_open_buckets(
        self, tallies: Mapping[tuple[SeriesKey, datetime], BucketTally]
    ) -> None:
        """Add a batch's tallies to their buckets: one read for them all, then one insert
        and one update statement, however many series the batch touched."""
        table = schema.open_buckets
        stored = self._open_bucket_rows(list(tallies))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for (key, bucket_start), tally in tallies.items():
            row = stored.get((key.topic, key.channel, bucket_start))
            if row is None:
                inserts.append(
                    {
                        "topic": key.topic,
                        "channel": key.channel,
                        "bucket_start": bucket_start,
                        "negative_count": tally.negative,
                        "total_count": tally.total,
                        **examples_values(tally.examples),
                    }
                )
                continue
            merged = _tally_from_row(row)
            merged.merge(tally)
            updates.append(
                {
                    "key_topic": key.topic,
                    "key_channel": key.channel,
                    "key_bucket_start": bucket_start,
                    "negative_count": merged.negative,
                    "total_count": merged.total,
                    **examples_values(merged.examples),
                }
            )
        if inserts:
            self._connection.execute(insert(table), inserts)
        if updates:
            self._connection.execute(
                update(table).where(
                    table.c.topic == bindparam("key_topic"),
                    table.c.channel == bindparam("key_channel"),
                    table.c.bucket_start == bindparam("key_bucket_start"),
                ),
                updates,
            )

    def _open_bucket_rows(
        self, keys: Sequence[tuple[SeriesKey, datetime]]
    ) -> dict[tuple[str, str, datetime], RowMapping]:
        table = schema.open_buckets
        columns = tuple_(table.c.topic, table.c.channel, table.c.bucket_start)
        found: dict[tuple[str, str, datetime], RowMapping] = {}
        per_chunk = _IN_CHUNK // 3  # three bound parameters per key
        for start in range(0, len(keys), per_chunk):
            chunk = [(key.topic, key.channel, at) for key, at in keys[start : start + per_chunk]]
            for row in self._connection.execute(select(table).where(columns.in_(chunk))):
                found[(row.topic, row.channel, row.bucket_start)] = row._mapping
        return found

    def open_buckets_through(
        self, key: SeriesKey, last_start: datetime
    ) -> dict[datetime, BucketTally]:
        table = schema.open_buckets
        rows = self._connection.execute(
            select(table)
            .where(
                table.c.topic == key.topic,
                table.c.channel == key.channel,
                table.c.bucket_start <= last_start,
            )
            .order_by(table.c.bucket_start)
        )
        return {row.bucket_start: _tally_from_row(row._mapping) for row in rows}

    def delete_open_buckets_through(self, key: SeriesKey, last_start: datetime) -> None:
        table = schema.open_buckets
        self._connection.execute(
            delete(table).where(
                table.c.topic == key.topic,
                table.c.channel == key.channel,
                table.c.bucket_start <= last_start,
            )
        )


def examples_values(examples: Sequence[ExampleMessage]) -> dict[str, Any]:
    """The example columns (open buckets and alerts have the same two)."""
    return {
        "example_message_ids": [example.message_id for example in examples],
        "example_traces": [
            {
                "message_id": example.message_id,
                "trace_id": example.producer_span.trace_id,
                "span_id": example.producer_span.span_id,
            }
            for example in examples
            if example.producer_span is not None
        ],
    }


def examples_from_row(row: RowMapping) -> list[ExampleMessage]:
    spans = {
        trace["message_id"]: SpanRef(trace["trace_id"], trace["span_id"])
        for trace in row["example_traces"]
    }
    return [
        ExampleMessage(message_id, spans.get(message_id))
        for message_id in row["example_message_ids"]
    ]


def _tally_from_row(row: RowMapping) -> BucketTally:
    return BucketTally(
        negative=row["negative_count"],
        total=row["total_count"],
        examples=examples_from_row(row),
    )
