"""gRPC RecommendService: protobuf in, ranked suggestions out."""

import grpc
from carepulse.v1 import recommend_pb2, recommend_pb2_grpc

from services.recommend.feedback import (
    ArticleNotSuggested,
    FeedbackStore,
    UnknownMessage,
)
from services.recommend.knowledge_index import IndexNotLoaded
from services.recommend.ranker import RankedSuggestion
from services.recommend.suggester import Suggester, SuggestionRequest
from services.recommend.vectors import ForeignEncoder, MalformedVector, query_vector


class RecommendServicer(recommend_pb2_grpc.RecommendServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        suggester: Suggester,
        feedback: FeedbackStore,
        *,
        default_top_k: int,
        max_top_k: int,
    ) -> None:
        self._suggester = suggester
        self._feedback = feedback
        self._default_top_k = default_top_k
        self._max_top_k = max_top_k

    def Recommend(
        self, request: recommend_pb2.RecommendRequest, context: grpc.ServicerContext
    ) -> recommend_pb2.RecommendResponse:
        problem = self._invalid(request)
        if problem:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        vector = request.sentence_vector
        try:
            (ranked,) = self._suggester.suggest(
                [
                    SuggestionRequest(
                        message_id=request.message_id,
                        customer_id=request.customer_id,
                        query=query_vector(vector.encoder_id, vector.float16_le),
                        intent=request.intent or None,
                        intent_confidence=request.intent_confidence,
                        top_k=request.top_k or self._default_top_k,
                        intent_candidates={
                            c.intent: c.confidence for c in request.intent_candidates
                        },
                    )
                ]
            )
        except MalformedVector as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"sentence_vector: {error}")
        except ForeignEncoder as error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        except IndexNotLoaded as error:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(error))
        return recommend_pb2.RecommendResponse(suggestions=[_suggestion(s) for s in ranked])

    def CheckFeedback(
        self, request: recommend_pb2.CheckFeedbackRequest, context: grpc.ServicerContext
    ) -> recommend_pb2.CheckFeedbackResponse:
        try:
            served = self._feedback.check_feedback(
                request.message_id, request.customer_id, request.article_id
            )
        except UnknownMessage as error:
            context.abort(grpc.StatusCode.NOT_FOUND, str(error))
        except ArticleNotSuggested as error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        return recommend_pb2.CheckFeedbackResponse(intent=served.intent)

    def _invalid(self, request: recommend_pb2.RecommendRequest) -> str | None:
        if not request.HasField("sentence_vector"):
            return "sentence_vector: is required (the classification's, of the same message)"
        if not request.customer_id:
            return "customer_id: is required"
        if not 0 <= request.top_k <= self._max_top_k:
            return f"top_k: must be between 1 and {self._max_top_k}"
        if not 0.0 <= request.intent_confidence <= 1.0:
            return "intent_confidence: must be between 0 and 1"
        if any(not 0.0 <= c.confidence <= 1.0 for c in request.intent_candidates):
            return "intent_candidates: confidences must be between 0 and 1"
        return None


def _suggestion(ranked: RankedSuggestion) -> recommend_pb2.Suggestion:
    return recommend_pb2.Suggestion(
        article_id=ranked.article.id,
        title=ranked.article.title,
        body=ranked.article.body,
        score=ranked.score,
        reasons=list(ranked.reasons),
    )
