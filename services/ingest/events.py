"""Prepared messages and feedback as the protobuf events published to Kafka."""

import uuid
from datetime import datetime

from carepulse.v1 import events_pb2

from servicekit.timestamps import to_timestamp
from services.ingest.pipeline import PreparedMessage

# Fixed forever: a retried feedback call must map to the same feedback_id.
_FEEDBACK_NAMESPACE = uuid.UUID("0b8f4c9e-31d2-4a57-8f0e-6c1d2b9a7e53")


def to_customer_message(prepared: PreparedMessage) -> events_pb2.CustomerMessage:
    return events_pb2.CustomerMessage(
        message_id=prepared.message_id,
        conversation_id=prepared.conversation_id,
        customer_id=prepared.customer_id,
        channel=prepared.channel,
        source=prepared.source,
        external_id=prepared.external_id or "",
        text=prepared.text,
        redactions=list(prepared.redactions),
        sent_at=to_timestamp(prepared.sent_at),
        received_at=to_timestamp(prepared.received_at),
    )


def feedback_id_for(message_id: str, customer_id: str, article_id: str) -> str:
    """One id per (message, customer, article): a repeated click counts once downstream."""
    return str(uuid.uuid5(_FEEDBACK_NAMESPACE, f"{message_id}\x1f{customer_id}\x1f{article_id}"))


def to_feedback_event(
    *, message_id: str, customer_id: str, article_id: str, helpful: bool, given_at: datetime
) -> events_pb2.FeedbackEvent:
    return events_pb2.FeedbackEvent(
        feedback_id=feedback_id_for(message_id, customer_id, article_id),
        message_id=message_id,
        customer_id=customer_id,
        article_id=article_id,
        helpful=helpful,
        given_at=to_timestamp(given_at),
    )
