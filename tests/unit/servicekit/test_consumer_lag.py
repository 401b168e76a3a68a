from kafka import TopicPartition
from prometheus_client import REGISTRY

from servicekit.kafka.lag import ConsumerLag
from tests.unit.servicekit.kafka_fakes import FakeConsumer, Poll

TOPIC = "messages.classified"
P0, P1, P2 = (TopicPartition(TOPIC, p) for p in range(3))


def _lag(partition: int) -> float | None:
    labels = {"group": "lag-unit", "topic": TOPIC, "partition": str(partition)}
    return REGISTRY.get_sample_value("carepulse_kafka_consumer_lag", labels)


def _after(client: FakeConsumer, lag: ConsumerLag) -> dict[int, float | None]:
    client.poll(timeout_ms=0, max_records=1)
    lag.update(client)
    return {p: _lag(p) for p in range(3)}


def test_lag_is_the_high_watermark_minus_the_position_of_each_fetched_partition() -> None:
    client = FakeConsumer(
        [Poll(assignment={P0, P1, P2}, highwater={P0: 120, P1: 7}, position={P0: 20, P1: 7})]
    )

    # P2 was never fetched: no high watermark yet, so no series rather than a guess.
    assert _after(client, ConsumerLag("lag-unit", TOPIC)) == {0: 100.0, 1: 0.0, 2: None}


def test_a_revoked_partition_loses_its_series_and_leaving_removes_them_all() -> None:
    client = FakeConsumer(
        [
            Poll(assignment={P0, P1}, highwater={P0: 5, P1: 9}, position={P0: 5, P1: 1}),
            Poll(assignment={P1}, highwater={P1: 12}, position={P1: 2}),
        ]
    )
    lag = ConsumerLag("lag-unit", TOPIC)

    assert _after(client, lag) == {0: 0.0, 1: 8.0, 2: None}
    assert _after(client, lag) == {0: None, 1: 10.0, 2: None}
    lag.clear()
    assert _lag(1) is None
