"""Suggestions for messages: embed, rank with what feedback taught, remember what was shown.

What was shown is what feedback is later checked against (FeedbackStore.check_feedback).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from services.recommend import spans
from services.recommend.embeddings import TextEncoder
from services.recommend.feedback import FeedbackStore
from services.recommend.knowledge_base import knowledge_base_version
from services.recommend.ranker import RankedSuggestion, SuggestionRanker


@dataclass(frozen=True)
class SuggestionRequest:
    message_id: str
    customer_id: str
    text: str
    intent: str | None
    intent_confidence: float
    top_k: int
    # Classify's most likely intents and their probabilities, when it sent them.
    intent_candidates: Mapping[str, float] = field(default_factory=dict)


class Suggester:
    def __init__(
        self,
        ranker: SuggestionRanker,
        encoder: TextEncoder,
        store: FeedbackStore,
        *,
        model_name: str,
    ) -> None:
        self._ranker = ranker
        self._encoder = encoder
        self._store = store
        self._model_name = model_name  # the encoder's, for traces
        self._index_version = knowledge_base_version(ranker.articles)

    def suggest(self, requests: Sequence[SuggestionRequest]) -> list[list[RankedSuggestion]]:
        """Rank for each request (one encoder pass for all) and record what was suggested."""
        if not requests:
            return []
        queries = self._encoder.encode([r.text for r in requests])
        # Helpfulness is learned per intent: an answer can help with one question and not
        # with another. One read per intent in the batch.
        helpfulness = {
            intent: self._store.posteriors(intent) for intent in {r.intent or "" for r in requests}
        }
        # A fresh generator per call: Thompson draws explore, and no state is shared by threads.
        rng = np.random.default_rng()
        results = []
        for request, query in zip(requests, queries, strict=True):
            with spans.ranking(
                intent=request.intent,
                intent_confidence=request.intent_confidence,
                intent_candidates=len(request.intent_candidates),
                top_k=request.top_k,
                model_name=self._model_name,
                index_version=self._index_version,
            ) as span:
                rejected = self._store.rejected_by(request.customer_id)
                ranked = self._ranker.rank(
                    query,
                    intent=request.intent or None,
                    intent_confidence=request.intent_confidence,
                    customer_rejected=rejected,
                    helpfulness=helpfulness[request.intent or ""],
                    top_k=request.top_k,
                    rng=rng,
                    intent_probabilities=dict(request.intent_candidates) or None,
                )
                spans.record_suggestions(span, ranked, rejected=len(rejected))
                if request.message_id:
                    self._store.remember_served(
                        request.customer_id,
                        request.message_id,
                        request.intent or "",
                        [s.article.id for s in ranked],
                    )
            results.append(ranked)
        return results
