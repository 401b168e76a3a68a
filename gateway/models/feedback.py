"""POST /v1/feedback: whether a suggested article helped."""

from pydantic import BaseModel, ConfigDict, Field


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(min_length=1, max_length=200)
    customer_id: str = Field(min_length=1, max_length=200)
    article_id: str = Field(min_length=1, max_length=200)
    helpful: bool


class FeedbackAccepted(BaseModel):
    feedback_id: str
