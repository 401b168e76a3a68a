"""Counting classified messages into per-series time buckets, exactly once per message id."""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.alert.alerts import SeriesKey, SpanRef
from services.alert.buckets import BucketTally, bucket_start_of
from services.alert.metrics import MESSAGES
from services.alert.storage.store import AlertStore


@dataclass(frozen=True)
class Observation:
    """One classified message, reduced to what the detectors count."""

    message_id: str
    # None: the classifier was too unsure of its intent to count it in any topic's series
    # (detection/topic_attribution.py).
    series: SeriesKey | None
    received_at: datetime
    negative: bool
    producer_span: SpanRef | None = None  # kept with the message if it becomes an example


@dataclass(frozen=True)
class CountResult:
    counted: int  # new ids, whether or not a series counted them
    duplicates: int
    late: int
    unattributed: int  # new ids counted in no series


class MessageCounter:
    """Adds a batch of observations to the open buckets in one transaction.

    Ids already counted are skipped, so Kafka redelivery (at-least-once) changes nothing.
    A message whose bucket its series has already closed (a consumer backlog, a slow
    classifier) is counted into the series' first open bucket: late, but never lost. A
    message without a series is only marked processed, so that it too is seen once.
    """

    def __init__(
        self,
        store: AlertStore,
        bucket_width: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._width = bucket_width
        self._clock = clock

    def count(self, observations: Sequence[Observation]) -> CountResult:
        # A batch can hold the same message twice; the first one counts.
        unique: dict[str, Observation] = {}
        for observation in observations:
            unique.setdefault(observation.message_id, observation)
        with self._store.transaction() as tx:
            unseen = tx.messages.unseen_ids(unique.keys())
            fresh = [o for o in unique.values() if o.message_id in unseen]
            tx.messages.mark_processed([o.message_id for o in fresh], self._clock())
            attributed = [(o, o.series) for o in fresh if o.series is not None]
            last_closed = tx.series.last_closed_buckets({series for _, series in attributed})
            tallies: dict[tuple[SeriesKey, datetime], BucketTally] = {}
            late = Counter[SeriesKey]()
            for observation, series in attributed:
                bucket = bucket_start_of(observation.received_at, self._width)
                closed = last_closed.get(series)
                if closed is not None and bucket <= closed:
                    bucket = closed + self._width
                    late[series] += 1
                tally = tallies.setdefault((series, bucket), BucketTally())
                tally.add(
                    observation.message_id,
                    negative=observation.negative,
                    producer_span=observation.producer_span,
                )
            tx.messages.add_to_open_buckets(tallies)
        result = CountResult(
            counted=len(fresh),
            duplicates=len(observations) - len(fresh),
            late=sum(late.values()),
            unattributed=len(fresh) - len(attributed),
        )
        MESSAGES.labels("on_time").inc(result.counted - result.late - result.unattributed)
        MESSAGES.labels("duplicate").inc(result.duplicates)
        MESSAGES.labels("late").inc(result.late)
        MESSAGES.labels("unattributed").inc(result.unattributed)
        return result
