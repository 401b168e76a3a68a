"""POST /v1/feedback: which suggestion helped; published for the recommender to learn from.

Feedback is accepted only on an article suggested for that message to that customer: the
recommend service, which records what it served, says so before ingest publishes the vote.
"""

import grpc
from carepulse.v1 import ingest_pb2, recommend_pb2
from fastapi import APIRouter, Depends

from gateway.auth import Authenticator
from gateway.keyring import Role
from gateway.models.feedback import FeedbackAccepted, FeedbackRequest
from gateway.problems import Problem, problem_responses
from gateway.settings import GatewaySettings
from gateway.upstreams import Upstreams


def feedback_router(
    upstreams: Upstreams, settings: GatewaySettings, auth: Authenticator
) -> APIRouter:
    router = APIRouter(tags=["feedback"], dependencies=[Depends(auth.require(Role.CLIENT))])

    @router.post(
        "/v1/feedback",
        status_code=202,
        responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429, 503, 504),
    )
    def record_feedback(feedback: FeedbackRequest) -> FeedbackAccepted:
        """Record whether a suggested article helped the customer.

        404 if no suggestions were served for `message_id` to `customer_id`; 409 if
        `article_id` was not among them.
        """
        _require_served(upstreams, settings, feedback)
        response = upstreams.ingest.RecordFeedback(
            ingest_pb2.RecordFeedbackRequest(
                message_id=feedback.message_id,
                customer_id=feedback.customer_id,
                article_id=feedback.article_id,
                helpful=feedback.helpful,
            ),
            timeout=settings.ingest_deadline_s,
        )
        return FeedbackAccepted(feedback_id=response.feedback_id)

    return router


def _require_served(
    upstreams: Upstreams, settings: GatewaySettings, feedback: FeedbackRequest
) -> None:
    try:
        upstreams.recommend.CheckFeedback(
            recommend_pb2.CheckFeedbackRequest(
                message_id=feedback.message_id,
                customer_id=feedback.customer_id,
                article_id=feedback.article_id,
            ),
            timeout=settings.recommend_deadline_s,
        )
    except grpc.RpcError as error:
        code = error.code() if isinstance(error, grpc.Call) else None
        if code is grpc.StatusCode.NOT_FOUND:
            raise Problem(
                404,
                "unknown-message",
                "Unknown message",
                "No suggestions were served for this message_id to this customer_id (unknown,"
                " older than the retention period, or another customer's message).",
            ) from error
        if code is grpc.StatusCode.FAILED_PRECONDITION:
            raise Problem(
                409,
                "article-not-suggested",
                "Article not suggested",
                "This article_id was not among the suggestions served for this message_id.",
            ) from error
        raise
