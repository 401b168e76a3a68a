"""Kafka inputs: feedback teaches the ranker; classified messages get suggestions prepared."""

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import UTC

from carepulse.v1 import events_pb2

from servicekit.database import outages_are_transient
from servicekit.kafka.consumer import InboundRecord
from services.recommend.feedback import FeedbackRejected, FeedbackStore
from services.recommend.metrics import FEEDBACK_EVENTS
from services.recommend.suggester import Suggester, SuggestionRequest

log = logging.getLogger(__name__)


class FeedbackProcessor:
    """`feedback` → per-article helpfulness and per-customer rejections (idempotent by id).

    The gateway accepts feedback only for suggestions served, but records on the topic can
    come from elsewhere, so each is checked again here: a vote on anything but a suggestion
    served to that customer for that message is refused (counted, logged, never applied).
    It is a verdict on the record, not a failure, so it is not retried or dead-lettered.
    """

    def __init__(self, store: FeedbackStore) -> None:
        self._store = store

    def process(
        self, records: Sequence[InboundRecord[events_pb2.FeedbackEvent]]
    ) -> list["Future[None]"]:
        with outages_are_transient():
            for record in records:
                event = record.value
                try:
                    counted = self._store.record(
                        feedback_id=event.feedback_id,
                        message_id=event.message_id,
                        customer_id=event.customer_id,
                        article_id=event.article_id,
                        helpful=event.helpful,
                        given_at=event.given_at.ToDatetime(tzinfo=UTC),
                    )
                except FeedbackRejected as rejection:
                    FEEDBACK_EVENTS.labels(rejection.reason).inc()
                    # Ids only: the customer id stays out of logs.
                    log.warning(
                        "feedback refused: no such suggestion served",
                        extra={
                            "reason": rejection.reason,
                            "feedback_id": event.feedback_id,
                            "message_id": event.message_id,
                            "partition": record.partition,
                            "offset": record.offset,
                        },
                    )
                    continue
                FEEDBACK_EVENTS.labels("counted" if counted else "duplicate").inc()
        return []


class PreparedSuggestionsProcessor:
    """`messages.classified` → suggestions recorded per message, ready for the agent's console.

    Messages from app, social or email reach agents later than chat; preparing their
    suggestions here keeps that work off the agent's request path. Idempotent by message id.
    """

    def __init__(self, suggester: Suggester, top_k: int) -> None:
        self._suggester = suggester
        self._top_k = top_k

    def process(
        self, records: Sequence[InboundRecord[events_pb2.ClassifiedMessage]]
    ) -> list["Future[None]"]:
        with outages_are_transient():
            self._suggester.suggest(
                [
                    SuggestionRequest(
                        message_id=r.value.message.message_id,
                        customer_id=r.value.message.customer_id,
                        text=r.value.message.text,
                        intent=r.value.classification.intent,
                        intent_confidence=r.value.classification.intent_confidence,
                        top_k=self._top_k,
                        intent_candidates={
                            c.intent: c.confidence for c in r.value.classification.intent_candidates
                        },
                    )
                    for r in records
                ]
            )
        return []
