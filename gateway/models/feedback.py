"""POST /v1/feedback: whether a suggested article helped."""

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from gateway.models.limits import MAX_ID_CHARS


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    customer_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    article_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    # JSON true or false only: the schema says boolean, so 0, 1 or "yes" are refused.
    helpful: StrictBool


class FeedbackAccepted(BaseModel):
    feedback_id: str
