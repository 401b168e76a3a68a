"""datetime <-> google.protobuf.Timestamp; an unset Timestamp (all zero) means "none"."""

from datetime import UTC, datetime
from typing import Annotated, Any

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AfterValidator, AwareDatetime


def _within_timestamp_range(value: datetime) -> datetime:
    # A Timestamp holds years 1..9999 in UTC; an offset can push a valid local time past that.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must lie between 0001-01-01 and 9999-12-31 in UTC") from None


# An aware datetime that converts to a Timestamp: what the API accepts wherever it takes a time.
ApiDatetime = Annotated[AwareDatetime, AfterValidator(_within_timestamp_range)]


def to_timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)  # converts an aware datetime to UTC
    return stamp


def from_timestamp(stamp: Any) -> datetime | None:
    if stamp.seconds == 0 and stamp.nanos == 0:
        return None
    return stamp.ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]
