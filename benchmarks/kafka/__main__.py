"""``python -m benchmarks.kafka [--records N] [--rounds N] [--bootstrap HOST:PORT]``.

Measures what the services' Kafka layer sustains on the local broker, through the same
servicekit API the services call, so it runs unchanged whichever client library sits below:

- **producer**: ``EventProducer.publish`` of ~1 KB ``CustomerMessage`` records (acks=all,
  idempotent, as every service produces), timed until the broker acknowledged the last one;
- **consumer**: ``ConsumerLoop`` with a processor that does nothing, committing every batch
  (``KAFKA_MAX_BATCH`` records, 64 by default, as the services), timed from its first batch
  to the last record; the group join before it is reported apart.

Without ``--bootstrap`` it starts its own single-node broker on free ports in a temporary
folder (`make kafka` jars), so it never meets a running stack or a test run. Prints one line
per round, then a JSON summary (medians over the rounds) as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path

from carepulse.v1 import events_pb2

from local.broker import BrokerPorts, KafkaBroker
from servicekit.kafka.consumer import ConsumerLoop, InboundRecord
from servicekit.kafka.producer import EventProducer
from servicekit.kafka.topics import TopicSpec, dead_letter_topic, ensure_topics
from servicekit.settings import KafkaSettings

PARTITIONS = 3  # as every CarePulse topic
TEXT_CHARS = 900  # with ids and timestamps, a ~1 KB record like a long customer message


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _message(index: int, run: str) -> events_pb2.CustomerMessage:
    message = events_pb2.CustomerMessage(
        message_id=f"{run}-{index}",
        conversation_id=f"conv-{index % 500}",
        customer_id=f"cust-{index % 500}",
        channel="app",
        source="bench",
        external_id=f"{run}-{index}",
        text=(f"message {index}: my card payment was declined twice today " * 20)[:TEXT_CHARS],
    )
    message.sent_at.GetCurrentTime()
    message.received_at.GetCurrentTime()
    return message


class CountingProcessor:
    """Does no work: what is left is the loop's own cost per record."""

    def __init__(self, expected: int) -> None:
        self.count = 0
        self.first_batch_at: float | None = None
        self.done = threading.Event()
        self._expected = expected

    def process(
        self, records: Sequence[InboundRecord[events_pb2.CustomerMessage]]
    ) -> list[Future[None]]:
        if self.first_batch_at is None:
            self.first_batch_at = time.perf_counter()
        self.count += len(records)
        if self.count >= self._expected:
            self.done.set()
        return []


def produce(settings: KafkaSettings, topic: str, records: int, run: str) -> dict[str, float]:
    messages = [_message(i, run) for i in range(records)]
    producer = EventProducer(settings, client_id="bench-producer")
    try:
        # One warm-up record: connection and topic metadata are not part of the rate.
        warm_up = _message(-1, run)
        producer.publish(topic, key="warm-up", message=warm_up, message_id="warm-up").result(30)
        start = time.perf_counter()
        futures = [
            producer.publish(topic, key=m.conversation_id, message=m, message_id=m.message_id)
            for m in messages
        ]
        producer.wait_delivered(futures)
        seconds = time.perf_counter() - start
    finally:
        producer.close()
    return {
        "records_per_s": records / seconds,
        "mb_per_s": records * messages[0].ByteSize() / seconds / 1e6,
        "seconds": seconds,
    }


def consume(settings: KafkaSettings, topic: str, records: int) -> dict[str, float]:
    processor = CountingProcessor(records + 1)  # + the producer's warm-up record
    producer = EventProducer(settings, client_id="bench-consumer")  # the loop's dead letters
    loop = ConsumerLoop(
        settings=settings,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        topic=topic,
        message_type=events_pb2.CustomerMessage,
        processor=processor,
        producer=producer,
    )
    started = time.perf_counter()
    thread = threading.Thread(target=loop.run, name="bench-consumer-loop")
    thread.start()
    try:
        if not processor.done.wait(timeout=600):
            raise TimeoutError(f"consumed {processor.count} of {records + 1} records in 600 s")
        finished = time.perf_counter()
    finally:
        loop.stop()
        thread.join(timeout=60)
        producer.close()
    first = processor.first_batch_at or started
    return {
        "records_per_s": (processor.count - 1) / (finished - first),
        "seconds": finished - first,
        "join_s": first - started,
    }


def _client_in_use() -> str:
    """The client library servicekit.kafka imported, and its version."""
    for module, distribution in (("confluent_kafka", "confluent-kafka"), ("kafka", "kafka-python")):
        if module in sys.modules:
            return f"{distribution} {metadata.version(distribution)}"
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kafka", description=__doc__)
    parser.add_argument("--records", type=int, default=20_000, help="records per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-batch", type=int, default=KafkaSettings().max_batch)
    parser.add_argument("--bootstrap", help="an existing broker; default: start one")
    args = parser.parse_args()

    with ExitStack() as stack:
        bootstrap = args.bootstrap
        if bootstrap is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-kafka-")))
            ports = BrokerPorts(_free_port(), _free_port())
            broker = KafkaBroker(folder / "kafka", ports, log_file=folder / "kafka.log")
            broker.start()
            stack.callback(broker.stop)
            bootstrap = broker.bootstrap_servers
        settings = KafkaSettings(bootstrap_servers=bootstrap, max_batch=args.max_batch)

        produced: list[dict[str, float]] = []
        consumed: list[dict[str, float]] = []
        for round_number in range(1, args.rounds + 1):
            run = uuid.uuid4().hex[:8]
            topic = f"bench.kafka.{run}"
            ensure_topics(
                bootstrap,
                [
                    TopicSpec(topic, PARTITIONS, 3_600_000),
                    TopicSpec(dead_letter_topic(topic), 1, 3_600_000),
                ],
            )
            produced.append(produce(settings, topic, args.records, run))
            consumed.append(consume(settings, topic, args.records))
            print(
                f"round {round_number}: produce {produced[-1]['records_per_s']:.0f} records/s,"
                f" consume {consumed[-1]['records_per_s']:.0f} records/s"
                f" (join {consumed[-1]['join_s']:.1f} s)",
                flush=True,
            )

    def median(rows: list[dict[str, float]], key: str) -> float:
        return round(statistics.median(row[key] for row in rows), 1)

    print(
        json.dumps(
            {
                "client": _client_in_use(),
                "records": args.records,
                "record_bytes": _message(0, "00000000").ByteSize(),
                "partitions": PARTITIONS,
                "max_batch": args.max_batch,
                "rounds": args.rounds,
                "producer_records_per_s": median(produced, "records_per_s"),
                "producer_mb_per_s": median(produced, "mb_per_s"),
                "consumer_records_per_s": median(consumed, "records_per_s"),
                "consumer_join_s": median(consumed, "join_s"),
                "cpus": len(os.sched_getaffinity(0)),
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
