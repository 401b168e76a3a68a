"""POST /v1/chat: ingest -> classify -> recommend, answered synchronously."""

from typing import Annotated

from carepulse.v1 import classify_pb2, ingest_pb2, recommend_pb2
from fastapi import APIRouter, Depends

from gateway.auth import Authenticator
from gateway.keyring import ApiKey, Role
from gateway.models.chat import (
    ChatReply,
    ChatRequest,
    Confidences,
    Explanation,
    IntentCandidate,
    Suggestion,
    sentiment_name,
)
from gateway.models.idempotency import IdempotencyKey
from gateway.problems import problem_responses
from gateway.settings import GatewaySettings
from gateway.upstreams import Upstreams


def chat_router(upstreams: Upstreams, settings: GatewaySettings, auth: Authenticator) -> APIRouter:
    client = auth.require(Role.CLIENT)
    router = APIRouter(tags=["chat"], dependencies=[Depends(client)])

    @router.post(
        "/v1/chat",
        response_model_exclude_none=True,
        responses=problem_responses(400, 401, 403, 413, 422, 429, 503, 504),
    )
    def chat(
        request: ChatRequest,
        key: Annotated[ApiKey, Depends(client)],
        idempotency_key: IdempotencyKey = None,
    ) -> ChatReply:
        """Ingest one message, classify it and suggest knowledge-base answers.

        With an `Idempotency-Key`, a retry answers with the same `message_id` and the message
        is counted once; without one, every call is a new message.
        """
        ingested = upstreams.ingest.Ingest(
            ingest_pb2.IngestRequest(
                caller=key.name,
                idempotency_key=idempotency_key or "",
                conversation_id=request.conversation_id,
                customer_id=request.customer_id,
                text=request.text,
                channel=request.channel or "",
            ),
            timeout=settings.ingest_deadline_s,
        )
        # Downstream services only ever see the redacted text ingest returned.
        classification = upstreams.classify.Classify(
            classify_pb2.ClassifyRequest(text=ingested.text, explain=request.explain),
            timeout=settings.classify_deadline_s,
        ).classification
        # Recommend ranks with the vector classify computed: one encoder pass per message.
        recommended = upstreams.recommend.Recommend(
            recommend_pb2.RecommendRequest(
                message_id=ingested.message_id,
                customer_id=request.customer_id,
                intent=classification.intent,
                intent_confidence=classification.intent_confidence,
                intent_candidates=classification.intent_candidates,
                sentence_vector=classification.sentence_vector,
            ),
            timeout=settings.recommend_deadline_s,
        )
        return ChatReply(
            message_id=ingested.message_id,
            sentiment=sentiment_name(classification.sentiment),
            intent=classification.intent,
            confidences=Confidences(
                sentiment=classification.sentiment_confidence,
                intent=classification.intent_confidence,
            ),
            intent_candidates=[
                IntentCandidate(intent=c.intent, confidence=c.confidence)
                for c in classification.intent_candidates
            ],
            suggestions=[Suggestion.from_proto(s) for s in recommended.suggestions],
            explanation=Explanation.from_proto(classification) if request.explain else None,
        )

    return router
