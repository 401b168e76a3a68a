"""POST /v1/messages: a batch of customer messages from another system, ingested async."""

from typing import Any

from carepulse.v1 import ingest_pb2
from pydantic import BaseModel, ConfigDict, Field

from gateway.models.limits import (
    ID_RULES,
    MAX_BATCH_MESSAGES,
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    Channel,
)
from gateway.timestamps import ApiDatetime, to_timestamp


class IncomingMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, description=ID_RULES)
    customer_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, description=ID_RULES)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    channel: Channel | None = Field(default=None, description='Default "chat".')
    source: str | None = Field(
        default=None, max_length=100, description=f'Default "api". {ID_RULES}'
    )
    external_id: str | None = Field(
        default=None,
        max_length=MAX_ID_CHARS,
        description=f"The source's id; repeats from the same API key are de-duplicated. {ID_RULES}",
    )
    sent_at: ApiDatetime | None = None

    def to_proto(self) -> Any:
        request = ingest_pb2.IngestRequest(
            conversation_id=self.conversation_id,
            customer_id=self.customer_id,
            text=self.text,
            channel=self.channel or "",
            source=self.source or "",
            external_id=self.external_id or "",
        )
        if self.sent_at is not None:
            request.sent_at.CopyFrom(to_timestamp(self.sent_at))
        return request


class MessageBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[IncomingMessage] = Field(min_length=1, max_length=MAX_BATCH_MESSAGES)


class BatchAccepted(BaseModel):
    ids: list[str] = Field(description="Message ids, in the order of the request.")
    duplicates: int = Field(
        description="How many were already ingested by this API key (same external_id, or"
        " a retry with the same Idempotency-Key)."
    )
