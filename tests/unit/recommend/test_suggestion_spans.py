"""Recommend's `recommend rank` span: why a message got its suggestions, never its text."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.recommend.feedback import FeedbackStore
from services.recommend.knowledge_base import knowledge_base_version
from services.recommend.knowledge_index import KnowledgeIndex
from services.recommend.suggester import Suggester, SuggestionRequest
from services.recommend.vectors import QueryVector
from tests.unit.recommend.conftest import ARTICLES, ENCODER, vote_on_served

CUSTOMER = "customer-7041"
# "Lost card, somewhat about fees" on the conftest's 4-d axes: the lost-card articles first,
# then card-fee ahead of transfer-fee by more than the helpfulness draws (at most +-0.1 each)
# can reorder.
LOST_CARD_AND_FEES = QueryVector(ENCODER, np.array([1.0, 0.5, 0.0, 0.0], np.float32))


def _rank_span(spans: InMemorySpanExporter) -> tuple[ReadableSpan, dict[str, Any]]:
    (span,) = [s for s in spans.get_finished_spans() if s.name == "recommend rank"]
    return span, dict(span.attributes or {})


def _request(top_k: int, candidates: dict[str, float]) -> SuggestionRequest:
    return SuggestionRequest(
        message_id="m-1",
        customer_id=CUSTOMER,
        query=LOST_CARD_AND_FEES,
        intent="lost_or_stolen_card",
        intent_confidence=0.6,
        top_k=top_k,
        intent_candidates=candidates,
    )


def test_the_rank_span_names_the_articles_chosen_their_scores_and_what_they_rest_on(
    loaded_index: KnowledgeIndex, store: FeedbackStore, exported_spans: InMemorySpanExporter
) -> None:
    vote_on_served(store, 1, CUSTOMER, "lost-card", helpful=False)  # never suggested again
    exported_spans.clear()
    suggester = Suggester(loaded_index, store)
    candidates = {"lost_or_stolen_card": 0.6, "card_payment_fee_charged": 0.3}

    (ranked,) = suggester.suggest([_request(3, candidates)])

    span, attributes = _rank_span(exported_spans)
    assert list(attributes["recommend.article_ids"]) == [s.article.id for s in ranked]
    assert "lost-card" not in attributes["recommend.article_ids"]
    assert attributes["recommend.rejected_articles"] == 1
    assert list(attributes["recommend.scores"]) == [s.score for s in ranked]
    # The best answer is about the lost card; the runner-up intent's article is offered too.
    assert list(attributes["recommend.suggested_intents"]) == [
        "lost_or_stolen_card",
        "card_payment_fee_charged",
        "transfer_fee_charged",
    ]
    assert attributes["recommend.hedged"] is True
    assert attributes["recommend.intent"] == "lost_or_stolen_card"
    assert attributes["recommend.intent_confidence"] == 0.6
    assert attributes["recommend.intent_candidates"] == 2
    assert attributes["recommend.top_k"] == 3
    assert attributes["recommend.encoder.id"] == ENCODER
    assert attributes["recommend.index.version"] == knowledge_base_version(ARTICLES)
    carried = [str(v) for v in attributes.values()] + [str(span.status.description)]
    assert not [v for v in carried if CUSTOMER in v]


def test_an_answer_on_one_intent_is_not_hedged(
    loaded_index: KnowledgeIndex, store: FeedbackStore, exported_spans: InMemorySpanExporter
) -> None:
    suggester = Suggester(loaded_index, store)

    (ranked,) = suggester.suggest([_request(2, {})])

    _, attributes = _rank_span(exported_spans)
    assert {s.article.id for s in ranked} == {"lost-card-freeze", "lost-card"}
    assert list(attributes["recommend.suggested_intents"]) == ["lost_or_stolen_card"]
    assert attributes["recommend.hedged"] is False
    assert attributes["recommend.intent_candidates"] == 0


def test_the_index_version_changes_with_any_article_field_and_only_then() -> None:
    version = knowledge_base_version(ARTICLES)
    assert len(version) == 12
    assert knowledge_base_version([replace(a) for a in ARTICLES]) == version
    with_example = replace(ARTICLES[0], examples=("where is my card?",))
    assert knowledge_base_version([with_example, *ARTICLES[1:]]) != version
    assert knowledge_base_version(ARTICLES[::-1]) != version
