"""POST /v1/messages: batch ingest; the messages flow on through Kafka, hence 202."""

from typing import Annotated

from carepulse.v1 import ingest_pb2
from fastapi import APIRouter, Depends

from gateway.auth import Authenticator
from gateway.keyring import ApiKey, Role
from gateway.models.idempotency import IdempotencyKey
from gateway.models.messages import BatchAccepted, MessageBatch
from gateway.problems import FieldError, Problem, problem_responses
from gateway.settings import GatewaySettings
from gateway.upstreams import Upstreams


def messages_router(
    upstreams: Upstreams, settings: GatewaySettings, auth: Authenticator
) -> APIRouter:
    client = auth.require(Role.CLIENT)
    router = APIRouter(tags=["messages"], dependencies=[Depends(client)])

    @router.post(
        "/v1/messages",
        status_code=202,
        responses=problem_responses(400, 401, 403, 413, 422, 429, 503, 504),
    )
    def ingest_batch(
        batch: MessageBatch,
        key: Annotated[ApiKey, Depends(client)],
        idempotency_key: IdempotencyKey = None,
    ) -> BatchAccepted:
        """Accept up to `GATEWAY_MAX_BATCH_MESSAGES` messages (default 500) for analysis.

        A message with an `external_id` keeps its id across requests; one without keeps it
        across retries of the request when the request carries an `Idempotency-Key`.
        """
        if len(batch.messages) > settings.max_batch_messages:
            raise Problem(
                422,
                "validation-failed",
                "Invalid request",
                "The batch is too large; split it into several requests.",
                errors=[
                    FieldError(
                        field="messages",
                        message=f"at most {settings.max_batch_messages} messages per request,"
                        f" got {len(batch.messages)}",
                    )
                ],
            )
        response = upstreams.ingest.IngestBatch(
            ingest_pb2.IngestBatchRequest(
                caller=key.name,
                idempotency_key=idempotency_key or "",
                messages=[m.to_proto() for m in batch.messages],
            ),
            timeout=settings.ingest_deadline_s,
        )
        return BatchAccepted(
            ids=[result.message_id for result in response.results],
            duplicates=sum(1 for result in response.results if result.duplicate),
        )

    return router
