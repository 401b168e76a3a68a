"""carepulse_alert_negative_ratio{topic}: the negative share of each topic's newest closed bucket.

Series are (topic, channel), but the dashboards chart topics: a topic's ratio adds up the
channels whose newest closed bucket is the topic's newest one. A channel still catching up
(an older bucket) or not heard from since does not dilute it. A bucket without messages has
no ratio, so the topic's series is removed until its next message rather than shown as 0.
"""

from datetime import datetime

from prometheus_client import Gauge

from services.alert.alerts import SeriesKey
from services.alert.buckets import BucketTally
from services.alert.metrics import NEGATIVE_RATIO


class TopicNegativeRatios:
    def __init__(self, gauge: Gauge = NEGATIVE_RATIO) -> None:
        self._gauge = gauge
        # Per topic: its newest closed bucket's start, and each channel's counts in it.
        self._newest: dict[str, tuple[datetime, dict[str, BucketTally]]] = {}

    def bucket_closed(self, series: SeriesKey, start: datetime, tally: BucketTally) -> None:
        newest = self._newest.get(series.topic)
        if newest is None or start > newest[0]:
            newest = (start, {})
            self._newest[series.topic] = newest
        elif start < newest[0]:
            return
        channels = newest[1]
        channels[series.channel] = tally
        negative = sum(counts.negative for counts in channels.values())
        total = sum(counts.total for counts in channels.values())
        if total:
            self._gauge.labels(series.topic).set(negative / total)
        else:
            self._gauge.remove(series.topic)
