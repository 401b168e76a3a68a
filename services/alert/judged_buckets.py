"""What the monitor concluded about each closed bucket, kept for a while to show an alert's
evidence as a time series: the counts, the negatives expected and the count that would spike.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from services.alert.spike import BucketCounts, SpikeConfig, SpikeVerdict, surprise_score


@dataclass(frozen=True)
class JudgedBucket:
    start: datetime
    negative: int
    total: int
    expected_negatives: float
    # The fewest negatives that would have made this bucket spike on its own: the top of the
    # band of normal counts.
    spike_threshold_negatives: int
    spiked: bool  # it met the spike condition (alone or as part of a sustained window)


def judged_bucket(counts: BucketCounts, verdict: SpikeVerdict, config: SpikeConfig) -> JudgedBucket:
    expected = verdict.baseline_negatives
    return JudgedBucket(
        start=counts.bucket_start,
        negative=counts.negative,
        total=counts.total,
        expected_negatives=expected,
        spike_threshold_negatives=spike_threshold_negatives(expected, config),
        spiked=verdict.bucket_spiked,
    )


def spike_threshold_negatives(expected: float, config: SpikeConfig) -> int:
    """The fewest negatives meeting every per-bucket guard of the monitor, given `expected`.

    Past the guards' floor the score only grows with the count, so a bisection finds it in a
    few dozen evaluations even on a topic expecting thousands of negatives per bucket.
    """
    low = max(config.min_negatives, math.ceil(config.min_fold * expected))
    if surprise_score(low, expected) >= config.threshold:
        return low
    step = max(1, math.ceil(math.sqrt(expected)))
    high = low + step
    while surprise_score(high, expected) < config.threshold:
        low, step = high, step * 2
        high = low + step
    while high - low > 1:  # score(low) < threshold <= score(high)
        middle = (low + high) // 2
        if surprise_score(middle, expected) >= config.threshold:
            high = middle
        else:
            low = middle
    return high
