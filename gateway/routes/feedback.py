"""POST /v1/feedback: which suggestion helped; published for the recommender to learn from."""

from carepulse.v1 import ingest_pb2
from fastapi import APIRouter, Depends

from gateway.auth import Authenticator
from gateway.keyring import Role
from gateway.models.feedback import FeedbackAccepted, FeedbackRequest
from gateway.problems import problem_responses
from gateway.settings import GatewaySettings
from gateway.upstreams import Upstreams


def feedback_router(
    upstreams: Upstreams, settings: GatewaySettings, auth: Authenticator
) -> APIRouter:
    router = APIRouter(tags=["feedback"], dependencies=[Depends(auth.require(Role.CLIENT))])

    @router.post(
        "/v1/feedback",
        status_code=202,
        responses=problem_responses(400, 401, 403, 413, 422, 429, 503, 504),
    )
    def record_feedback(feedback: FeedbackRequest) -> FeedbackAccepted:
        """Record whether a suggested article helped the customer."""
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
