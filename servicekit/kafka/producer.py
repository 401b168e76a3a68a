"""A durable producer: acks=all + idempotence, a future per record.

Each send's span and the trace context in the record's headers come from the kafka-python
instrumentation (tracing.py).
"""

import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from typing import NamedTuple

from google.protobuf.message import Message
from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from prometheus_client import Counter

from servicekit.kafka.headers import RecordHeaders, event_headers
from servicekit.settings import KafkaSettings

log = logging.getLogger(__name__)

PRODUCE_ERRORS = Counter(
    "carepulse_kafka_produce_errors_total",
    "Records the broker refused or did not acknowledge in time.",
    ["topic"],
)

# How long a publish may block its caller for the broker or a topic's metadata: a broker down
# fails the record within this instead of holding a gRPC call, and the caller retries.
_MAX_BLOCK_MS = 5_000
# After a failed connection, publishes fail at once for this long instead of each waiting.
_CONNECT_RETRY_S = 1.0


def quiet_client_logs() -> None:
    """kafka-python logs each record's key, value and headers at DEBUG, and chats at INFO:
    customer data must never reach a log, so its loggers stop at WARNING whatever the root."""
    logging.getLogger("kafka").setLevel(logging.WARNING)


class DeliveryFailed(Exception):
    """A record was not acknowledged by the broker; the caller must not commit its input."""


class _InFlight(NamedTuple):
    client: KafkaProducer
    topic: str


def _wedges_the_client(error: Exception) -> bool:
    """Whether kafka-python 3.0.12's idempotent producer sends nothing more after `error`.

    After a record's delivery expired it sends nothing more, nor expires it (seen after
    pausing the broker past the delivery timeout). After any error retrying cannot fix
    (a record over the topic's size limit, say) it turns fatal and fails every later record
    (tests/integration/test_producer_recovery.py).
    """
    return isinstance(error, KafkaTimeoutError) or not getattr(error, "retriable", False)


class EventProducer:
    def __init__(self, settings: KafkaSettings, client_id: str) -> None:
        quiet_client_logs()
        self._bootstrap_servers = settings.bootstrap_servers
        self._client_id = client_id
        self._delivery_timeout_s = settings.delivery_timeout_s
        self._producer: KafkaProducer | None = None  # connected on first use: see _client()
        self._producer_lock = threading.Lock()
        self._connect_again_at = 0.0
        # Our futures not yet settled, with the client and topic their record went to.
        self._unsettled: dict[Future[None], _InFlight] = {}
        self._unsettled_lock = threading.Lock()
        self._probe: KafkaAdminClient | None = None
        self._probe_lock = threading.Lock()

    def publish(self, topic: str, *, key: str, message: Message, message_id: str) -> "Future[None]":
        """Send a protobuf event; the future completes when the broker has it durably."""
        headers = event_headers(message, message_id)
        return self.publish_raw(topic, key.encode(), message.SerializeToString(), headers)

    def publish_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: RecordHeaders
    ) -> "Future[None]":
        future: Future[None] = Future()
        # The topic's error series exists at 0 before its first error, which increase() and the
        # ProduceErrors alert would otherwise miss.
        errors = PRODUCE_ERRORS.labels(topic)
        try:
            producer = self._client()
            sent = producer.send(topic, value=value, key=key, headers=headers)
        except KafkaError as error:  # no broker, or no metadata for the topic, within 5 s
            errors.inc()
            future.set_exception(DeliveryFailed(f"{topic}: {error}"))
            return future
        with self._unsettled_lock:
            self._unsettled[future] = _InFlight(producer, topic)

        def acknowledged(_metadata: object) -> None:
            self._settle(future, None)

        def refused(error: Exception) -> None:
            self._settle(future, DeliveryFailed(f"{topic}: {error}"))
            if _wedges_the_client(error):
                self._replace_wedged(producer, error)

        # Runs at once if the record already settled, else on the producer's IO thread.
        sent.add_callback(acknowledged)
        sent.add_errback(refused)
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
            self._client()  # fails fast while the broker is away
            with self._probe_lock:
                if self._probe is None:
                    self._probe = KafkaAdminClient(
                        bootstrap_servers=self._bootstrap_servers,
                        client_id=f"{self._client_id}-readiness",
                        request_timeout_ms=int(timeout_s * 1000),
                        bootstrap_timeout_ms=int(timeout_s * 1000),
                    )
                self._probe.describe_cluster()
            return True
        except KafkaError:
            return False

    def close(self, timeout_s: float = 10.0) -> None:
        with self._producer_lock:
            producer, self._producer = self._producer, None
            self._connect_again_at = float("inf")  # closed: no publish reconnects
        if producer is not None:
            try:
                producer.close(timeout=timeout_s)  # flushes what is buffered first
            except KafkaTimeoutError:
                log.error("records still unsent at shutdown", extra={"count": len(self._unsettled)})
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()

    def _client(self) -> KafkaProducer:
        """The kafka-python producer, created at first use: creating one needs the broker, and
        a service must start (not ready) while the broker is away."""
        with self._producer_lock:
            if self._producer is None:
                if time.monotonic() < self._connect_again_at:
                    # The broker was away a moment ago: fail fast rather than stall each
                    # record of a batch for another bootstrap timeout.
                    raise KafkaConnectionError("broker unreachable; connecting again shortly")
                try:
                    self._producer = self._connect()
                except KafkaError:
                    self._connect_again_at = time.monotonic() + _CONNECT_RETRY_S
                    raise
            return self._producer

    def _connect(self) -> KafkaProducer:
        delivery_timeout_ms = int(self._delivery_timeout_s * 1000)
        # kafka-python sends from its own IO thread and completes each record's future there,
        # so a caller simply waits on the futures publish() returns.
        return KafkaProducer(
            bootstrap_servers=self._bootstrap_servers,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            # Batches of up to 256 KB per partition: the client's cost is per request, so
            # its 16 KB default (16 records of ours) costs about a third of the throughput.
            batch_size=256 * 1024,
            # Our topics are created explicitly (topics.py): a typo fails rather than creates one.
            allow_auto_create_topics=False,
            delivery_timeout_ms=delivery_timeout_ms,
            # kafka-python wants room for linger + one request inside the delivery timeout.
            request_timeout_ms=min(30_000, delivery_timeout_ms // 2),
            max_block_ms=min(_MAX_BLOCK_MS, delivery_timeout_ms),
            bootstrap_timeout_ms=_MAX_BLOCK_MS,
        )

    def _settle(self, future: "Future[None]", error: DeliveryFailed | None) -> None:
        """Complete one of our futures, once: whoever takes it out of _unsettled does."""
        with self._unsettled_lock:
            in_flight = self._unsettled.pop(future, None)
        if in_flight is None:
            return
        if error is None:
            future.set_result(None)
        else:
            PRODUCE_ERRORS.labels(in_flight.topic).inc()
            future.set_exception(error)

    def _replace_wedged(self, producer: KafkaProducer, error: Exception) -> None:
        """The next publish gets a new client, and the records stranded in this one fail now,
        so their callers retry (consumers de-duplicate by message id should one have landed).
        """
        with self._producer_lock:
            if self._producer is not producer:
                return  # already replaced
            self._producer = None
        with self._unsettled_lock:
            stranded = [f for f, sent in self._unsettled.items() if sent.client is producer]
        log.warning(
            "producer reset after an error it cannot recover from",
            extra={"error": type(error).__name__, "failed": len(stranded)},
        )
        for future in stranded:
            self._settle(future, DeliveryFailed("the client was reset; retry"))
        # Closed on a thread of its own: this runs on the old client's IO thread.
        threading.Thread(target=self._abandon, args=(producer,), daemon=True).start()

    @staticmethod
    def _abandon(producer: KafkaProducer) -> None:
        try:
            producer.close(timeout=1)
        except KafkaTimeoutError:  # its stranded records were failed already
            log.warning("a reset producer still held records when closed; its thread stays")
