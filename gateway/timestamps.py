"""datetime <-> google.protobuf.Timestamp; an unset Timestamp (all zero) means "none"."""

from datetime import UTC, datetime
from typing import Annotated, Any

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AfterValidator, AwareDatetime, BeforeValidator


def _within_timestamp_range(value: datetime) -> datetime:
    # A Timestamp holds years 1..9999 in UTC; an offset can push a valid local time past that.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must lie between 0001-01-01 and 9999-12-31 in UTC") from None


def _not_a_number(value: Any) -> Any:
    # Pydantic would read 0.5 or "1700000000" as seconds since 1970; the schema promises an
    # RFC 3339 date-time, so a number is refused rather than guessed at.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(_RFC_3339)
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError(_RFC_3339)
    return value


_RFC_3339 = "must be an RFC 3339 date-time with an offset, e.g. 2026-01-31T09:30:00Z"

# An aware datetime that converts to a Timestamp: what the API accepts wherever it takes a time.
ApiDatetime = Annotated[
    AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_within_timestamp_range)
]


def to_timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)  # converts an aware datetime to UTC
    return stamp


def from_timestamp(stamp: Any) -> datetime | None:
    if stamp.seconds == 0 and stamp.nanos == 0:
        return None
    return stamp.ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]
