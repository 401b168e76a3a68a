"""Suggestions for messages: rank classify's vector of each, with what feedback taught, and
remember what was shown.

What was shown is what feedback is later checked against (FeedbackStore.check_feedback).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from services.recommend import spans
from services.recommend.feedback import FeedbackStore, Served
from services.recommend.knowledge_index import KnowledgeIndex, LoadedIndex
from services.recommend.ranker import RankedSuggestion
from services.recommend.vectors import MalformedVector, QueryVector


@dataclass(frozen=True)
class SuggestionRequest:
    message_id: str
    customer_id: str
    query: QueryVector  # classify's vector of the message
    intent: str | None
    intent_confidence: float
    top_k: int
    # Classify's most likely intents and their probabilities, when it sent them.
    intent_candidates: Mapping[str, float] = field(default_factory=dict)


class Suggester:
    def __init__(self, index: KnowledgeIndex, store: FeedbackStore) -> None:
        self._index = index
        self._store = store

    def suggest(self, requests: Sequence[SuggestionRequest]) -> list[list[RankedSuggestion]]:
        """Rank for each request and record what was suggested.

        Every vector is checked before anything is recorded: ForeignEncoder or MalformedVector
        for the first that cannot be ranked, IndexNotLoaded before the first load.
        """
        if not requests:
            return []
        indexes = [self._checked(r.query) for r in requests]
        # One read each for the whole batch: helpfulness is learned per intent (an answer can
        # help with one question and not with another), rejections per customer.
        helpfulness = self._store.posteriors_by_intent({r.intent or "" for r in requests})
        rejections = self._store.rejected_by_customers({r.customer_id for r in requests})
        # A fresh generator per call: Thompson draws explore, and no state is shared by threads.
        rng = np.random.default_rng()
        results = []
        for request, index in zip(requests, indexes, strict=True):
            with spans.ranking(
                intent=request.intent,
                intent_confidence=request.intent_confidence,
                intent_candidates=len(request.intent_candidates),
                top_k=request.top_k,
                encoder_id=index.encoder_id,
                index_version=self._index.version,
            ) as span:
                rejected = rejections[request.customer_id]
                ranked = index.ranker.rank(
                    request.query.values,
                    intent=request.intent or None,
                    intent_confidence=request.intent_confidence,
                    customer_rejected=rejected,
                    helpfulness=helpfulness[request.intent or ""],
                    top_k=request.top_k,
                    rng=rng,
                    intent_probabilities=dict(request.intent_candidates) or None,
                )
                spans.record_suggestions(span, ranked, rejected=len(rejected))
            results.append(ranked)
        # One transaction for the batch: what was shown is what feedback is checked against.
        self._store.remember_served_batch(
            [
                Served(
                    request.customer_id,
                    request.message_id,
                    request.intent or "",
                    tuple(s.article.id for s in ranked),
                )
                for request, ranked in zip(requests, results, strict=True)
                if request.message_id
            ]
        )
        return results

    def _checked(self, query: QueryVector) -> LoadedIndex:
        index = self._index.serving(query.encoder_id)
        if query.values.shape != (index.ranker.dim,):
            raise MalformedVector(
                f"{query.values.size} dimensions; encoder {query.encoder_id!r} has "
                f"{index.ranker.dim}"
            )
        return index
