"""What the detectors are fed: one series' classified messages in one time bucket."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class BucketCounts:
    bucket_start: datetime
    negative: int
    total: int

    def __post_init__(self) -> None:
        if self.negative < 0 or self.total < self.negative:
            raise ValueError("need 0 <= negative <= total")
