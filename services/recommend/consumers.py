"""Kafka inputs: feedback teaches the ranker; classified messages get suggestions prepared."""

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC

from carepulse.v1 import events_pb2

from servicekit.database import outages_are_transient
from servicekit.kafka.consumer import InboundRecord, TransientFailure
from services.recommend.feedback import FeedbackRejected, FeedbackStore
from services.recommend.knowledge_index import IndexNotLoaded
from services.recommend.metrics import FEEDBACK_EVENTS, SUGGESTION_VOTES
from services.recommend.suggester import Suggester, SuggestionRequest
from services.recommend.vectors import query_vector

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
                if counted:
                    SUGGESTION_VOTES.labels("helpful" if event.helpful else "not_helpful").inc()
        return []


class PreparedSuggestionsProcessor:
    """`messages.classified` → suggestions recorded per message, ready for the agent's console.

    Messages from app, social or email reach agents later than chat; preparing their
    suggestions here keeps that work off the agent's request path. Idempotent by message id.

    Each record ranks with the sentence vector its classification carries. One without a
    usable vector, or with another encoder's (ForeignEncoder), fails, and the consumer loop
    dead-letters it with that reason after its retries: never ranked with a mismatched vector.
    Before the knowledge base's vectors are loaded, the batch waits (a transient failure).
    """

    def __init__(self, suggester: Suggester, top_k: int) -> None:
        self._suggester = suggester
        self._top_k = top_k

    def process(
        self, records: Sequence[InboundRecord[events_pb2.ClassifiedMessage]]
    ) -> list["Future[None]"]:
        with outages_are_transient(), _waiting_for_the_index():
            self._suggester.suggest(
                [
                    SuggestionRequest(
                        message_id=r.value.message.message_id,
                        customer_id=r.value.message.customer_id,
                        query=query_vector(
                            r.value.classification.sentence_vector.encoder_id,
                            r.value.classification.sentence_vector.float16_le,
                        ),
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


@contextmanager
def _waiting_for_the_index() -> Iterator[None]:
    try:
        yield
    except IndexNotLoaded as error:
        raise TransientFailure(str(error)) from error
