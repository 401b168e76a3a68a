"""Time buckets: which bucket a moment falls in, and what a bucket has counted so far."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.alert.alerts import MAX_EXAMPLE_MESSAGE_IDS, ExampleMessage, SpanRef

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_start_of(moment: datetime, width: timedelta) -> datetime:
    """Buckets are aligned to the Unix epoch, so every replica and restart agrees on them."""
    offset = (moment - _EPOCH) // width
    return _EPOCH + offset * width


@dataclass
class BucketTally:
    negative: int = 0
    total: int = 0
    examples: list[ExampleMessage] = field(default_factory=list)  # the first negatives

    @property
    def example_message_ids(self) -> list[str]:
        return [example.message_id for example in self.examples]

    def add(self, message_id: str, *, negative: bool, producer_span: SpanRef | None = None) -> None:
        self.total += 1
        if negative:
            self.negative += 1
            if len(self.examples) < MAX_EXAMPLE_MESSAGE_IDS:
                self.examples.append(ExampleMessage(message_id, producer_span))

    def merge(self, other: "BucketTally") -> None:
        self.negative += other.negative
        self.total += other.total
        room = MAX_EXAMPLE_MESSAGE_IDS - len(self.examples)
        self.examples += other.examples[: max(room, 0)]
