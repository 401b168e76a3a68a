"""Recommend ranks classify's vector of a message, and refuses one it cannot rank rightly:
FAILED_PRECONDITION on gRPC, a failed (so dead-lettered) record on Kafka, never a silent
mismatch; nothing is recorded as served for a refused message."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
from carepulse.v1 import events_pb2, recommend_pb2

from servicekit.kafka.consumer import InboundRecord, TransientFailure
from services.recommend.consumers import PreparedSuggestionsProcessor
from services.recommend.feedback import FeedbackStore, UnknownMessage
from services.recommend.knowledge_index import KnowledgeIndex
from services.recommend.server import RecommendServicer
from services.recommend.suggester import Suggester
from services.recommend.vectors import ForeignEncoder
from tests.unit.recommend.conftest import ENCODER, FakeEmbedder, knowledge_index

LOST_CARD = np.array([1.0, 0.0, 0.0, 0.0], "<f2").tobytes()


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


class FakeContext:
    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code, details)


def _servicer(index: KnowledgeIndex, store: FeedbackStore) -> RecommendServicer:
    return RecommendServicer(Suggester(index, store), store, default_top_k=2, max_top_k=5)


def _request(
    encoder_id: str = ENCODER, vector: bytes = LOST_CARD
) -> recommend_pb2.RecommendRequest:
    return recommend_pb2.RecommendRequest(
        message_id="m-1",
        customer_id="u-1",
        sentence_vector=events_pb2.SentenceVector(encoder_id=encoder_id, float16_le=vector),
    )


def _refusal(servicer: RecommendServicer, request: recommend_pb2.RecommendRequest) -> Aborted:
    with pytest.raises(Aborted) as refused:
        servicer.Recommend(request, FakeContext())
    return refused.value


def test_recommend_ranks_the_vector_classify_sent(
    loaded_index: KnowledgeIndex, store: FeedbackStore
) -> None:
    response = _servicer(loaded_index, store).Recommend(_request(), FakeContext())

    # The two lost-card articles are near twins: Thompson draws may order them either way.
    assert {s.article_id for s in response.suggestions} == {"lost-card", "lost-card-freeze"}
    assert store.check_feedback("m-1", "u-1", "lost-card").intent == ""


def test_a_vector_from_another_encoder_is_refused_as_a_failed_precondition(
    loaded_index: KnowledgeIndex, store: FeedbackStore
) -> None:
    refused = _refusal(_servicer(loaded_index, store), _request("minilm:other"))

    assert refused.code is grpc.StatusCode.FAILED_PRECONDITION
    assert "minilm:other" in refused.details and ENCODER in refused.details
    with pytest.raises(UnknownMessage):
        store.check_feedback("m-1", "u-1", "lost-card")


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        (recommend_pb2.RecommendRequest(customer_id="u-1"), "sentence_vector: is required"),
        (_request(vector=np.ones(3, "<f2").tobytes()), "3 dimensions"),
        (_request(vector=b"\x00"), "half floats"),
    ],
)
def test_a_missing_or_malformed_vector_is_an_invalid_argument(
    loaded_index: KnowledgeIndex,
    store: FeedbackStore,
    request_: recommend_pb2.RecommendRequest,
    problem: str,
) -> None:
    refused = _refusal(_servicer(loaded_index, store), request_)

    assert refused.code is grpc.StatusCode.INVALID_ARGUMENT
    assert problem in refused.details


def test_recommend_is_unavailable_until_the_knowledge_base_vectors_are_loaded(
    tmp_path: Path, store: FeedbackStore
) -> None:
    index = knowledge_index(FakeEmbedder(), tmp_path)

    assert _refusal(_servicer(index, store), _request()).code is grpc.StatusCode.UNAVAILABLE


def _classified(message_id: str, encoder_id: str) -> InboundRecord[events_pb2.ClassifiedMessage]:
    value = events_pb2.ClassifiedMessage(
        message=events_pb2.CustomerMessage(message_id=message_id, customer_id="u-1"),
        classification=events_pb2.Classification(
            intent="lost_or_stolen_card",
            intent_confidence=0.9,
            sentence_vector=events_pb2.SentenceVector(encoder_id=encoder_id, float16_le=LOST_CARD),
        ),
    )
    return InboundRecord(value, key="c-1", topic="messages.classified", partition=0, offset=0)


def test_a_classified_message_from_another_encoder_fails_its_batch_before_anything_is_served(
    loaded_index: KnowledgeIndex, store: FeedbackStore
) -> None:
    processor = PreparedSuggestionsProcessor(Suggester(loaded_index, store), top_k=2)

    with pytest.raises(ForeignEncoder):
        processor.process([_classified("m-1", ENCODER), _classified("m-2", "minilm:other")])

    for message_id in ("m-1", "m-2"):
        with pytest.raises(UnknownMessage):
            store.check_feedback(message_id, "u-1", "lost-card")
    processor.process([_classified("m-1", ENCODER)])  # alone, as the loop retries it
    assert store.check_feedback("m-1", "u-1", "lost-card").intent == "lost_or_stolen_card"


def test_classified_messages_wait_while_the_knowledge_base_vectors_load(
    tmp_path: Path, store: FeedbackStore
) -> None:
    index = knowledge_index(FakeEmbedder(), tmp_path)
    processor = PreparedSuggestionsProcessor(Suggester(index, store), top_k=2)

    with pytest.raises(TransientFailure, match="not loaded"):
        processor.process([_classified("m-1", ENCODER)])
