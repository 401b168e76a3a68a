"""The event producer against the real broker: one refused record never wedges the client."""

from collections.abc import Iterator

import pytest
from carepulse.v1 import events_pb2
from kafka.admin import KafkaAdminClient, NewTopic

from local.stack import Stack
from servicekit.kafka.producer import DeliveryFailed, EventProducer
from servicekit.kafka.topics import TopicSpec, ensure_topics
from servicekit.settings import KafkaSettings

pytestmark = pytest.mark.integration

# A topic that refuses records over 1 KB: the broker answers MESSAGE_TOO_LARGE, an error
# retrying cannot fix (the client's own size limit is 1 MB, so the record is sent).
SMALL_RECORDS = {"max.message.bytes": "1024"}


@pytest.fixture
def topics(stack: Stack, unique: str) -> tuple[str, str]:
    small, normal = f"test.producer.small.{unique}", f"test.producer.normal.{unique}"
    admin = KafkaAdminClient(bootstrap_servers=stack.broker.bootstrap_servers)
    try:
        admin.create_topics([NewTopic(small, 1, 1, topic_configs=SMALL_RECORDS)])
    finally:
        admin.close()
    ensure_topics(stack.broker.bootstrap_servers, [TopicSpec(normal, 1, 3_600_000)])
    return small, normal


@pytest.fixture
def producer(stack: Stack) -> Iterator[EventProducer]:
    settings = KafkaSettings(bootstrap_servers=stack.broker.bootstrap_servers)
    producer = EventProducer(settings, client_id="test-producer-recovery")
    yield producer
    producer.close()


def message(text: str, message_id: str) -> events_pb2.CustomerMessage:
    return events_pb2.CustomerMessage(message_id=message_id, conversation_id="c-1", text=text)


def test_a_record_the_broker_refuses_fails_alone(
    producer: EventProducer, topics: tuple[str, str]
) -> None:
    small, normal = topics
    before = producer.publish(normal, key="c-1", message=message("hi", "m-0"), message_id="m-0")
    producer.wait_delivered([before])

    refused = producer.publish(
        small, key="c-1", message=message("x" * 4096, "m-1"), message_id="m-1"
    )
    with pytest.raises(DeliveryFailed, match="MessageSizeTooLarge"):
        producer.wait_delivered([refused])

    # kafka-python's idempotent producer turns fatal after a non-retriable error and fails
    # every later record: the client must be replaced, not kept.
    for n in range(2, 5):
        after = producer.publish(
            normal, key="c-1", message=message("hi", f"m-{n}"), message_id=f"m-{n}"
        )
        producer.wait_delivered([after])
