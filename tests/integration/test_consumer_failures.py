"""The consumer loop against the real broker: a failing database never leaks the row's data."""

import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest
from carepulse.v1 import events_pb2
from sqlalchemy import Column, MetaData, String, Table, insert

from local.stack import Stack
from servicekit.database import create_database_engine
from servicekit.kafka import headers
from servicekit.kafka.consumer import ConsumerLoop, InboundRecord
from servicekit.kafka.producer import EventProducer
from servicekit.kafka.topics import TopicSpec, dead_letter_topic, ensure_topics
from servicekit.settings import KafkaSettings
from tests.integration.topic_reader import header, read_until

pytestmark = pytest.mark.integration

SECRET = "customer-4242-card-4111111111111111"


class InsertsTwice:
    """Writes the customer id as a primary key twice: a real IntegrityError quoting it."""

    def __init__(self, database: Path) -> None:
        self._engine = create_database_engine(None, database)
        self._table = Table("seen", MetaData(), Column("customer", String, primary_key=True))
        self._table.metadata.create_all(self._engine)

    def process(
        self, records: Sequence[InboundRecord[events_pb2.CustomerMessage]]
    ) -> list[Future[None]]:
        with self._engine.begin() as connection:
            for record in records:
                for _ in range(2):
                    connection.execute(
                        insert(self._table).values(customer=record.value.customer_id)
                    )
        return []


@pytest.fixture
def topic(stack: Stack, unique: str) -> str:
    name = f"test.failures.{unique}"
    ensure_topics(
        stack.broker.bootstrap_servers,
        [TopicSpec(name, 1, 3_600_000), TopicSpec(dead_letter_topic(name), 1, 3_600_000)],
    )
    return name


@pytest.fixture
def running_loop(stack: Stack, topic: str, tmp_path: Path) -> Iterator[EventProducer]:
    settings = KafkaSettings(
        bootstrap_servers=stack.broker.bootstrap_servers, max_attempts=2, retry_backoff_s=0.05
    )
    producer = EventProducer(settings, client_id="test-failures")
    loop = ConsumerLoop(
        settings=settings,
        group_id=f"group-{topic}",
        topic=topic,
        message_type=events_pb2.CustomerMessage,
        processor=InsertsTwice(tmp_path / "seen.db"),
        producer=producer,
    )
    thread = threading.Thread(target=loop.run)
    thread.start()
    yield producer
    loop.stop()
    thread.join(timeout=30)
    producer.close()


def test_database_error_is_dead_lettered_without_the_rows_data(
    stack: Stack, topic: str, running_loop: EventProducer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    message = events_pb2.CustomerMessage(message_id="m-1", customer_id=SECRET, text="hello")
    running_loop.publish(topic, key="c-1", message=message, message_id="m-1").result(timeout=30)

    (dead,) = read_until(stack.broker.bootstrap_servers, dead_letter_topic(topic), bool)

    assert header(dead, headers.DLQ_ERROR) == "IntegrityError from the database (IntegrityError)"
    assert all(
        SECRET.encode() not in (value or b"")
        for key, value in dead.headers or ()
        if key.startswith("dlq-")
    )
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "processing failed" in logged
    assert SECRET not in logged
