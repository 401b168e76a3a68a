"""datetime <-> google.protobuf.Timestamp; an unset Timestamp (all zero) means "none"."""

from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp


def to_timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)  # converts an aware datetime to UTC
    return stamp


def from_timestamp(stamp: Any) -> datetime | None:
    if stamp.seconds == 0 and stamp.nanos == 0:
        return None
    return stamp.ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]
