"""gRPC IngestService: requests in, durable events on Kafka out.

A call returns only after the broker acknowledged its events (acks=all), so a success seen
by the client is never lost; a broker outage is UNAVAILABLE and the client may retry.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import grpc
from carepulse.v1 import ingest_pb2, ingest_pb2_grpc

from servicekit.kafka.producer import DeliveryFailed, EventProducer
from servicekit.kafka.topics import FEEDBACK, MESSAGES_RAW
from services.ingest.dedup import DuplicateWindow
from services.ingest.errors import InvalidMessage
from services.ingest.events import to_customer_message, to_feedback_event
from services.ingest.pipeline import IncomingMessage, IngestPipeline, PreparedMessage

_MAX_ID_CHARS = 128


class IngestServicer(ingest_pb2_grpc.IngestServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        pipeline: IngestPipeline,
        dedup: DuplicateWindow,
        producer: EventProducer,
        *,
        max_batch: int,
    ) -> None:
        self._pipeline = pipeline
        self._dedup = dedup
        self._producer = producer
        self._max_batch = max_batch

    def Ingest(
        self, request: ingest_pb2.IngestRequest, context: grpc.ServicerContext
    ) -> ingest_pb2.IngestResponse:
        (prepared,) = self._prepare_all([request], context, field_prefix="")
        self._publish([prepared], context)
        return _response(prepared)

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
        prepared = self._prepare_all(request.messages, context, field_prefix="messages")
        self._publish(prepared, context)
        return ingest_pb2.IngestBatchResponse(results=[_response(p) for p in prepared])

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
        requests: Sequence[ingest_pb2.IngestRequest],
        context: grpc.ServicerContext,
        field_prefix: str,
    ) -> list[PreparedMessage]:
        prepared = []
        for index, request in enumerate(requests):
            try:
                prepared.append(self._pipeline.prepare(_incoming(request)))
            except InvalidMessage as error:
                # Validate everything before publishing anything: a batch is all or nothing.
                self._forget(prepared)
                where = f"{field_prefix}[{index}]." if field_prefix else ""
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{where}{error}")
        return prepared

    def _publish(self, prepared: list[PreparedMessage], context: grpc.ServicerContext) -> None:
        fresh = [p for p in prepared if not p.duplicate]
        futures = [
            self._producer.publish(
                MESSAGES_RAW,
                key=p.conversation_id,  # per-conversation order
                message=to_customer_message(p),
                message_id=p.message_id,
            )
            for p in fresh
        ]
        try:
            self._producer.wait_delivered(futures)
        except DeliveryFailed as error:
            # Not published, so not a duplicate when the client retries.
            self._forget(fresh)
            context.abort(grpc.StatusCode.UNAVAILABLE, f"event stream unavailable: {error}")

    def _forget(self, prepared: list[PreparedMessage]) -> None:
        for p in prepared:
            if p.external_id is not None and not p.duplicate:
                self._dedup.forget(p.source, p.external_id)


def _incoming(request: ingest_pb2.IngestRequest) -> IncomingMessage:
    return IncomingMessage(
        conversation_id=request.conversation_id,
        customer_id=request.customer_id,
        text=request.text,
        channel=request.channel,
        source=request.source,
        external_id=request.external_id or None,
        sent_at=request.sent_at.ToDatetime(tzinfo=UTC) if request.HasField("sent_at") else None,
    )


def _response(prepared: PreparedMessage) -> ingest_pb2.IngestResponse:
    return ingest_pb2.IngestResponse(
        message_id=prepared.message_id,
        duplicate=prepared.duplicate,
        text=prepared.text,
        redactions=list(prepared.redactions),
    )
