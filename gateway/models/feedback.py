"""POST /v1/feedback: whether a suggested article helped."""

from pydantic import BaseModel, ConfigDict, Field


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(min_length=1, max_length=128)
    customer_id: str = Field(min_length=1, max_length=128)
    article_id: str = Field(min_length=1, max_length=128)
    helpful: bool


class FeedbackAccepted(BaseModel):
    feedback_id: str
