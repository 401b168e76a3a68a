"""POST /v1/chat: one customer message in, its sentiment, intent and reply suggestions out."""

from typing import Any, Literal

from carepulse.v1 import events_pb2
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from gateway.models.limits import ID_RULES, MAX_ID_CHARS, MAX_TEXT_CHARS, Channel

SentimentName = Literal["negative", "neutral", "positive", "unspecified"]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, description=ID_RULES)
    customer_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, description=ID_RULES)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    channel: Channel | None = Field(default=None, description='Default "chat".')
    explain: StrictBool = Field(default=False, description="Add per-token attributions (slower).")


class Confidences(BaseModel):
    sentiment: float
    intent: float


class IntentCandidate(BaseModel):
    intent: str
    confidence: float


class Suggestion(BaseModel):
    article_id: str
    title: str
    body: str
    score: float
    reasons: list[str]

    @classmethod
    def from_proto(cls, suggestion: Any) -> "Suggestion":
        return cls(
            article_id=suggestion.article_id,
            title=suggestion.title,
            body=suggestion.body,
            score=suggestion.score,
            reasons=list(suggestion.reasons),
        )


# [token, weight]: compact, since an explanation lists every token of the message.
TokenWeight = tuple[str, float]


class Explanation(BaseModel):
    """Each token's share of the prediction, in the order of the text."""

    sentiment: list[TokenWeight]
    intent: list[TokenWeight]

    @classmethod
    def from_proto(cls, classification: Any) -> "Explanation":
        return cls(
            sentiment=[_weight(a) for a in classification.sentiment_attributions],
            intent=[_weight(a) for a in classification.intent_attributions],
        )


class ChatReply(BaseModel):
    message_id: str
    sentiment: SentimentName
    intent: str
    confidences: Confidences
    intent_candidates: list[IntentCandidate] = Field(
        description="The most likely intents, best first (the first is `intent`)."
    )
    suggestions: list[Suggestion]
    explanation: Explanation | None = Field(default=None, description="Only when asked for.")


def sentiment_name(value: int) -> SentimentName:
    """SENTIMENT_NEGATIVE -> "negative"; a value newer than this code reads as "unspecified"."""
    try:
        name: str = events_pb2.Sentiment.Name(value)
    except ValueError:
        return "unspecified"
    return name.removeprefix("SENTIMENT_").lower()  # type: ignore[return-value]


def _weight(attribution: Any) -> TokenWeight:
    return (attribution.token, attribution.weight)
