"""What the monitor concluded about each closed bucket, kept for a while to show an alert's
evidence as a time series: the counts, what each kind expected and the counts that would have
made the bucket anomalous on its own."""

from dataclasses import dataclass
from datetime import datetime

from services.alert.detection.series_monitor import SeriesVerdict


@dataclass(frozen=True)
class JudgedBucket:
    start: datetime
    negative: int
    total: int
    expected_negatives: float
    # The fewest negatives that would have made this bucket spike on its own: the top of the
    # band of normal negative counts.
    spike_threshold_negatives: int
    spiked: bool  # the negative share spiked (alone or as part of a sustained window)
    expected_messages: float
    surge_threshold_messages: int  # the same band for the number of messages
    surged: bool  # the volume surged (alone or as part of a sustained window)


def judged_bucket(verdict: SeriesVerdict) -> JudgedBucket:
    share, volume = verdict.negative_share, verdict.volume
    return JudgedBucket(
        start=verdict.counts.bucket_start,
        negative=verdict.counts.negative,
        total=verdict.counts.total,
        expected_negatives=share.expected,
        spike_threshold_negatives=share.threshold,
        spiked=share.anomalous,
        expected_messages=volume.expected,
        surge_threshold_messages=volume.threshold,
        surged=volume.anomalous,
    )
