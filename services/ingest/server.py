"""gRPC IngestService: requests in, durable events on Kafka out.

A call returns success only after the broker acknowledged its events (acks=all), so a
success seen by the client is never lost. A broker outage, or a publish still unacknowledged
when the caller's deadline nears, is UNAVAILABLE and the client may retry: a retry of a
message still being published waits for that publish within its own deadline, and hears
"duplicate" only once the message is durable.
"""

import time
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from datetime import UTC, datetime
from functools import partial

import grpc
from carepulse.v1 import ingest_pb2, ingest_pb2_grpc

from servicekit.kafka.producer import DeliveryFailed, EventProducer
from servicekit.kafka.topics import FEEDBACK, MESSAGES_RAW
from services.ingest.dedup import Claim, ClaimState, DuplicateWindow
from services.ingest.errors import InvalidMessage
from services.ingest.events import to_customer_message, to_feedback_event
from services.ingest.pipeline import IncomingMessage, IngestPipeline, PreparedMessage

_MAX_ID_CHARS = 128
# Answer this long before the caller's deadline, so it hears UNAVAILABLE (retry later)
# rather than its own DEADLINE_EXCEEDED.
_ANSWER_MARGIN_S = 0.2


class IngestServicer(ingest_pb2_grpc.IngestServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        pipeline: IngestPipeline,
        dedup: DuplicateWindow,
        producer: EventProducer,
        *,
        max_batch: int,
        max_wait_s: float,
    ) -> None:
        """`max_wait_s` bounds the wait for the broker when the caller set no deadline."""
        self._pipeline = pipeline
        self._dedup = dedup
        self._producer = producer
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s

    def Ingest(
        self, request: ingest_pb2.IngestRequest, context: grpc.ServicerContext
    ) -> ingest_pb2.IngestResponse:
        incoming = _incoming(
            request,
            caller=request.caller,
            idempotency_key=request.idempotency_key,
            batch_index=None,
        )
        (prepared,) = self._prepare_all([incoming], context, field_prefix="")
        (result,) = self._publish([prepared], context)
        return result

    def IngestBatch(
        self, request: ingest_pb2.IngestBatchRequest, context: grpc.ServicerContext
    ) -> ingest_pb2.IngestBatchResponse:
        if not request.messages:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "messages: must not be empty")
        if len(request.messages) > self._max_batch:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"messages: at most {self._max_batch} per batch, got {len(request.messages)}",
            )
        incoming = []
        for index, message in enumerate(request.messages):
            if message.caller or message.idempotency_key:
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"messages[{index}]: caller and idempotency_key belong to the batch",
                )
            incoming.append(
                _incoming(
                    message,
                    caller=request.caller,
                    idempotency_key=request.idempotency_key,
                    batch_index=index,
                )
            )
        prepared = self._prepare_all(incoming, context, field_prefix="messages")
        return ingest_pb2.IngestBatchResponse(results=self._publish(prepared, context))

    def RecordFeedback(
        self, request: ingest_pb2.RecordFeedbackRequest, context: grpc.ServicerContext
    ) -> ingest_pb2.RecordFeedbackResponse:
        for field in ("message_id", "customer_id", "article_id"):
            value = getattr(request, field)
            if not value or len(value) > _MAX_ID_CHARS:
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"{field}: required, at most {_MAX_ID_CHARS} characters",
                )
        event = to_feedback_event(
            message_id=request.message_id,
            customer_id=request.customer_id,
            article_id=request.article_id,
            helpful=request.helpful,
            given_at=datetime.now(UTC),
        )
        future = self._producer.publish(
            FEEDBACK, key=request.customer_id, message=event, message_id=event.feedback_id
        )
        try:
            self._producer.wait_delivered([future])
        except DeliveryFailed as error:
            context.abort(grpc.StatusCode.UNAVAILABLE, f"event stream unavailable: {error}")
        return ingest_pb2.RecordFeedbackResponse(feedback_id=event.feedback_id)

    def _prepare_all(
        self,
        requests: Sequence[IncomingMessage],
        context: grpc.ServicerContext,
        field_prefix: str,
    ) -> list[PreparedMessage]:
        prepared: list[PreparedMessage] = []
        for index, request in enumerate(requests):
            try:
                prepared.append(self._pipeline.prepare(request))
            except InvalidMessage as error:
                # Validate everything before publishing anything: a batch is all or nothing.
                self._release(prepared)
                where = f"{field_prefix}[{index}]." if field_prefix else ""
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{where}{error}")
        return prepared

    def _publish(
        self, prepared: list[PreparedMessage], context: grpc.ServicerContext
    ) -> list[ingest_pb2.IngestResponse]:
        """Publish what this call owns, wait for it and for the keys other calls are
        publishing, all within the caller's deadline; the responses, in order."""
        remaining_s = context.time_remaining()
        wait_s = self._max_wait_s if remaining_s is None else remaining_s - _ANSWER_MARGIN_S
        deadline = time.monotonic() + wait_s
        futures = self._publish_owned([p for p in prepared if p.owned])
        # Handing records to the producer may itself block a while (broker metadata).
        _, not_done = wait_futures(futures, timeout=max(deadline - time.monotonic(), 0.0))
        failed = [f.exception() for f in futures if f.done() and f.exception() is not None]
        if failed:
            context.abort(grpc.StatusCode.UNAVAILABLE, f"event stream unavailable: {failed[0]}")
        if not_done:
            # Still in flight: its key stays pending, so a retry waits for this very publish.
            context.abort(
                grpc.StatusCode.UNAVAILABLE,
                f"event stream slow: {len(not_done)} messages not acknowledged yet; retry",
            )
        results = []
        for p in prepared:
            duplicate = p.duplicate
            if p.claim is not None and p.claim.state is ClaimState.PENDING:
                published = p.claim.wait_published(deadline - time.monotonic())
                if not published:
                    context.abort(
                        grpc.StatusCode.UNAVAILABLE,
                        "an earlier attempt of this message is not published"
                        f" ({'failed' if published is False else 'still in flight'}); retry",
                    )
                duplicate = True
            results.append(_response(p, duplicate=duplicate))
        return results

    def _publish_owned(self, owned: list[PreparedMessage]) -> list["Future[None]"]:
        """Start publishing; each claim settles when the broker acknowledged or refused."""
        futures: list[Future[None]] = []
        try:
            for p in owned:
                future = self._producer.publish(
                    MESSAGES_RAW,
                    key=p.conversation_id,  # per-conversation order
                    message=to_customer_message(p),
                    message_id=p.message_id,
                )
                futures.append(future)
                if p.claim is not None:
                    future.add_done_callback(partial(self._settle, p.claim))
        except BaseException:
            self._release(owned[len(futures) :])
            raise
        return futures

    def _settle(self, claim: Claim, delivery: "Future[None]") -> None:
        self._dedup.settle(claim, published=delivery.exception() is None)

    def _release(self, prepared: list[PreparedMessage]) -> None:
        """Not published, so not a duplicate when the client retries."""
        for p in prepared:
            if p.claim is not None and p.claim.state is ClaimState.OWNED:
                self._dedup.settle(p.claim, published=False)


def _incoming(
    request: ingest_pb2.IngestRequest,
    *,
    caller: str,
    idempotency_key: str,
    batch_index: int | None,
) -> IncomingMessage:
    """The caller and its Idempotency-Key come from the call, never from a batch's items."""
    return IncomingMessage(
        caller=caller,
        idempotency_key=idempotency_key or None,
        batch_index=batch_index,
        conversation_id=request.conversation_id,
        customer_id=request.customer_id,
        text=request.text,
        channel=request.channel,
        source=request.source,
        external_id=request.external_id or None,
        sent_at=request.sent_at.ToDatetime(tzinfo=UTC) if request.HasField("sent_at") else None,
    )


def _response(prepared: PreparedMessage, *, duplicate: bool) -> ingest_pb2.IngestResponse:
    return ingest_pb2.IngestResponse(
        message_id=prepared.message_id,
        duplicate=duplicate,
        text=prepared.text,
        redactions=list(prepared.redactions),
    )
