"""Consumer lag per assigned partition: how many records the log holds beyond this consumer.

Updated after every poll from what the client already knows, without a request to the
broker: each fetch response carries the partition's high watermark (the offset the next
record produced will get), and the position is the offset of the next record to fetch.
Revoked partitions lose their series, so a partition's lag is reported by its owner only.
"""

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import IllegalStateError
from prometheus_client import Gauge

CONSUMER_LAG = Gauge(
    "carepulse_kafka_consumer_lag",
    "Records in the partition beyond this consumer's position (high watermark - position).",
    ["group", "topic", "partition"],
)


class ConsumerLag:
    """The lag series of one consumer: call update() on the loop's thread after each poll."""

    def __init__(self, group_id: str, topic: str) -> None:
        self._group_id = group_id
        self._topic = topic
        self._reported: set[TopicPartition] = set()

    def update(self, consumer: KafkaConsumer) -> None:
        assigned: set[TopicPartition] = consumer.assignment()
        for revoked in self._reported - assigned:
            self._remove(revoked)
        for tp in assigned:
            try:
                highwater = consumer.highwater(tp)
                # A fetch came back only if the partition had a position, so position() has
                # nothing to look up; timeout_ms=0 keeps it from waiting on the broker if it had.
                position = consumer.position(tp, timeout_ms=0) if highwater is not None else None
            except IllegalStateError:
                continue  # revoked on the client's IO thread since assignment(): next update
            if position is None:
                continue  # not fetched yet: nothing measured, nothing reported
            CONSUMER_LAG.labels(self._group_id, self._topic, str(tp.partition)).set(
                highwater - position
            )
            self._reported.add(tp)

    def clear(self) -> None:
        """Remove every series of this consumer: it left the group."""
        for tp in list(self._reported):
            self._remove(tp)

    def _remove(self, tp: TopicPartition) -> None:
        CONSUMER_LAG.remove(self._group_id, self._topic, str(tp.partition))
        self._reported.discard(tp)
