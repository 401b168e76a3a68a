"""Time buckets: which bucket a moment falls in, and what a bucket has counted so far."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.alert.alerts import MAX_EXAMPLE_MESSAGE_IDS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_start_of(moment: datetime, width: timedelta) -> datetime:
    """Buckets are aligned to the Unix epoch, so every replica and restart agrees on them."""
    offset = (moment - _EPOCH) // width
    return _EPOCH + offset * width


@dataclass
class BucketTally:
    negative: int = 0
    total: int = 0
    example_message_ids: list[str] = field(default_factory=list)

    def add(self, message_id: str, *, negative: bool) -> None:
        self.total += 1
        if negative:
            self.negative += 1
            if len(self.example_message_ids) < MAX_EXAMPLE_MESSAGE_IDS:
                self.example_message_ids.append(message_id)

    def merge(self, other: "BucketTally") -> None:
        self.negative += other.negative
        self.total += other.total
        room = MAX_EXAMPLE_MESSAGE_IDS - len(self.example_message_ids)
        self.example_message_ids += other.example_message_ids[: max(room, 0)]
