"""A durable producer: acks=all + idempotence, a future per record, trace context in headers."""

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka import Message as KafkaMessage
from google.protobuf.message import Message
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from servicekit.kafka.headers import RecordHeaders, event_headers
from servicekit.settings import KafkaSettings

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


class DeliveryFailed(Exception):
    """A record was not acknowledged by the broker; the caller must not commit its input."""


class EventProducer:
    def __init__(self, settings: KafkaSettings, client_id: str) -> None:
        self._producer = Producer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "client.id": client_id,
                "logger": logging.getLogger("librdkafka"),  # JSON logs, not raw stderr
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "compression.type": "lz4",
                "delivery.timeout.ms": int(settings.delivery_timeout_s * 1000),
            }
        )
        self._delivery_timeout_s = settings.delivery_timeout_s
        # librdkafka runs delivery callbacks only inside poll(); a thread keeps them flowing so
        # each caller can simply wait on its own futures.
        self._closing = threading.Event()
        self._poller = threading.Thread(target=self._poll_forever, name="kafka-producer-poll")
        self._poller.daemon = True
        self._poller.start()

    def publish(self, topic: str, *, key: str, message: Message, message_id: str) -> "Future[None]":
        """Send a protobuf event; the future completes when the broker has it durably."""
        with tracer.start_as_current_span(
            f"{topic} publish",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": topic,
                "messaging.message.id": message_id,
                "messaging.kafka.message.key": key,
            },
        ):
            headers = event_headers(message, message_id)
        return self.publish_raw(topic, key.encode(), message.SerializeToString(), headers)

    def publish_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: RecordHeaders
    ) -> "Future[None]":
        future: Future[None] = Future()

        def on_delivery(error: KafkaError | None, _record: KafkaMessage) -> None:
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(DeliveryFailed(f"{topic}: {error.str()}"))

        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=on_delivery
                )
                return future
            except BufferError:
                # The local queue is full: let deliveries drain, then try again.
                self._producer.poll(0.1)
            except KafkaException as error:
                future.set_exception(DeliveryFailed(f"{topic}: {error}"))
                return future

    def wait_delivered(self, futures: Iterable["Future[None]"]) -> None:
        """Block until every record is acknowledged; raise DeliveryFailed otherwise."""
        pending = list(futures)
        done, not_done = wait_futures(pending, timeout=self._delivery_timeout_s + 5)
        if not_done:
            raise DeliveryFailed(f"{len(not_done)} records not acknowledged in time")
        for future in done:
            future.result()

    def reachable(self, timeout_s: float = 2.0) -> bool:
        """True when the cluster answers a metadata request."""
        try:
            self._producer.list_topics(timeout=timeout_s)
            return True
        except KafkaException:
            return False

    def close(self, timeout_s: float = 10.0) -> None:
        remaining = self._producer.flush(timeout_s)
        self._closing.set()
        self._poller.join(timeout=2)
        if remaining:
            log.error("records still unsent at shutdown", extra={"count": remaining})

    def _poll_forever(self) -> None:
        while not self._closing.is_set():
            self._producer.poll(0.1)
