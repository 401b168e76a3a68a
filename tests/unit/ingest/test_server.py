"""The ingest servicer over real gRPC, with a broker the test acknowledges by hand."""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import grpc
import pytest
from carepulse.v1 import ingest_pb2, ingest_pb2_grpc

from servicekit.kafka.producer import DeliveryFailed, EventProducer
from services.ingest.dedup import DuplicateWindow
from services.ingest.pipeline import IngestPipeline
from services.ingest.server import IngestServicer


class HeldProducer:
    """Every publish stays unacknowledged until the test acks or fails it."""

    def __init__(self) -> None:
        self.published: list[tuple[str, Future[None]]] = []  # (message_id, delivery)
        self.auto_ack = False
        self._lock = threading.Lock()

    def publish(self, topic: str, *, key: str, message: Any, message_id: str) -> Future[None]:
        delivery: Future[None] = Future()
        with self._lock:
            self.published.append((message_id, delivery))
        if self.auto_ack:
            delivery.set_result(None)
        return delivery

    def ack_all(self) -> None:
        for _, delivery in self.published:
            if not delivery.done():
                delivery.set_result(None)

    def fail_all(self) -> None:
        for _, delivery in self.published:
            if not delivery.done():
                delivery.set_exception(DeliveryFailed("messages.raw: broker down"))

    def ids(self) -> list[str]:
        return [message_id for message_id, _ in self.published]


class Ingest:
    def __init__(self, stub: Any, producer: HeldProducer) -> None:
        self.stub = stub
        self.producer = producer

    def one(self, timeout: float = 2.0, **fields: Any) -> Any:
        request = ingest_pb2.IngestRequest(**{**MESSAGE, **fields})
        return self.stub.Ingest(request, timeout=timeout)

    def batch(self, messages: list[dict[str, Any]], timeout: float = 2.0, **fields: Any) -> Any:
        request = ingest_pb2.IngestBatchRequest(
            messages=[ingest_pb2.IngestRequest(**m) for m in messages],
            **{"caller": "client-a", **fields},
        )
        return self.stub.IngestBatch(request, timeout=timeout)


MESSAGE: dict[str, Any] = {
    "caller": "client-a",
    "conversation_id": "conv-1",
    "customer_id": "cust-1",
    "text": "Where is my refund?",
}
TICKET: dict[str, Any] = {**MESSAGE, "source": "zendesk", "external_id": "ticket-1"}
ITEM: dict[str, Any] = {k: v for k, v in MESSAGE.items() if k != "caller"}


@pytest.fixture
def ingest() -> Iterator[Ingest]:
    producer = HeldProducer()
    dedup = DuplicateWindow(window_s=600, max_entries=1000)
    servicer = IngestServicer(
        IngestPipeline(dedup),
        dedup,
        cast(EventProducer, producer),
        max_batch=10,
        max_wait_s=5,
    )
    server = grpc.server(ThreadPoolExecutor(max_workers=8))
    ingest_pb2_grpc.add_IngestServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield Ingest(ingest_pb2_grpc.IngestServiceStub(channel), producer)
    producer.ack_all()
    channel.close()
    server.stop(grace=None)


def code_of(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as error:
        call()
    return cast(grpc.StatusCode, error.value.code())


def test_unacknowledged_publish_is_unavailable_before_the_callers_deadline(ingest: Ingest) -> None:
    started = time.monotonic()
    assert code_of(lambda: ingest.one(timeout=1.0, **TICKET)) is grpc.StatusCode.UNAVAILABLE
    assert time.monotonic() - started < 1.0


def test_retry_of_a_message_still_being_published_is_not_accepted(ingest: Ingest) -> None:
    assert code_of(lambda: ingest.one(timeout=0.5, **TICKET)) is grpc.StatusCode.UNAVAILABLE
    assert code_of(lambda: ingest.one(timeout=0.5, **TICKET)) is grpc.StatusCode.UNAVAILABLE

    ingest.producer.ack_all()
    retry = ingest.one(**TICKET)

    assert retry.duplicate is True
    assert ingest.producer.ids() == [retry.message_id]


def test_retry_waits_for_the_pending_publish_and_answers_once_it_is_durable(
    ingest: Ingest,
) -> None:
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(ingest.one, timeout=5.0, **TICKET)
        while not ingest.producer.published:
            time.sleep(0.01)
        retry = pool.submit(ingest.one, timeout=5.0, **TICKET)
        time.sleep(0.2)
        assert not retry.done()
        ingest.producer.ack_all()

        assert (first.result().duplicate, retry.result().duplicate) == (False, True)
    assert first.result().message_id == retry.result().message_id
    assert len(ingest.producer.published) == 1


def test_failed_publish_releases_the_key_so_the_retry_publishes(ingest: Ingest) -> None:
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(ingest.one, timeout=5.0, **TICKET)
        while not ingest.producer.published:
            time.sleep(0.01)
        waiting = pool.submit(ingest.one, timeout=5.0, **TICKET)
        time.sleep(0.2)
        ingest.producer.fail_all()
        assert code_of(first.result) is grpc.StatusCode.UNAVAILABLE
        assert code_of(waiting.result) is grpc.StatusCode.UNAVAILABLE

    ingest.producer.auto_ack = True
    retry = ingest.one(**TICKET)

    assert retry.duplicate is False
    assert len(ingest.producer.published) == 2


def test_same_external_id_from_another_caller_is_published_under_its_own_id(
    ingest: Ingest,
) -> None:
    ingest.producer.auto_ack = True
    mine = ingest.one(**TICKET)
    theirs = ingest.one(**{**TICKET, "caller": "client-b"})

    assert theirs.duplicate is False
    assert theirs.message_id != mine.message_id
    assert ingest.producer.ids() == [mine.message_id, theirs.message_id]


def test_idempotency_key_makes_a_retry_one_message(ingest: Ingest) -> None:
    ingest.producer.auto_ack = True
    first = ingest.one(idempotency_key="req-1")
    retry = ingest.one(idempotency_key="req-1")
    other = ingest.one(idempotency_key="req-2")

    assert (retry.message_id, retry.duplicate) == (first.message_id, True)
    assert other.message_id != first.message_id
    assert ingest.producer.ids() == [first.message_id, other.message_id]


def test_without_a_key_every_call_is_a_new_message(ingest: Ingest) -> None:
    ingest.producer.auto_ack = True
    first, second = ingest.one(), ingest.one()
    assert first.message_id != second.message_id
    assert len(ingest.producer.published) == 2


def test_batch_retry_under_an_idempotency_key_keeps_every_id(ingest: Ingest) -> None:
    ingest.producer.auto_ack = True
    first = ingest.batch([ITEM, ITEM], idempotency_key="req-1")
    retry = ingest.batch([ITEM, ITEM], idempotency_key="req-1")

    ids = [r.message_id for r in first.results]
    assert len(set(ids)) == 2
    assert [r.message_id for r in retry.results] == ids
    assert all(r.duplicate for r in retry.results)
    assert ingest.producer.ids() == ids


def test_repeat_inside_one_batch_is_published_once(ingest: Ingest) -> None:
    ingest.producer.auto_ack = True
    item = {**ITEM, "source": "zendesk", "external_id": "ticket-1"}
    reply = ingest.batch([item, item])

    assert [r.duplicate for r in reply.results] == [False, True]
    assert len(ingest.producer.published) == 1


def test_invalid_item_releases_the_batchs_keys(ingest: Ingest) -> None:
    ingest.producer.auto_ack = True
    item = {**ITEM, "source": "zendesk", "external_id": "ticket-1"}
    invalid = [item, {**ITEM, "channel": "fax"}]
    assert code_of(lambda: ingest.batch(invalid)) is grpc.StatusCode.INVALID_ARGUMENT
    assert ingest.batch([item]).results[0].duplicate is False


@pytest.mark.parametrize(
    "call",
    [
        lambda ingest: ingest.one(caller=""),
        lambda ingest: ingest.batch([ITEM], caller=""),
        lambda ingest: ingest.batch([{**ITEM, "caller": "client-b"}]),
        lambda ingest: ingest.batch([{**ITEM, "idempotency_key": "req-1"}]),
        lambda ingest: ingest.one(idempotency_key="caf\u00e9"),
    ],
    ids=["no caller", "no batch caller", "item caller", "item key", "non-ascii key"],
)
def test_the_caller_comes_from_the_call_only(ingest: Ingest, call: Any) -> None:
    ingest.producer.auto_ack = True
    assert code_of(lambda: call(ingest)) is grpc.StatusCode.INVALID_ARGUMENT
    assert ingest.producer.published == []
