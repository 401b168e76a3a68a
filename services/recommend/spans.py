"""Recommend's own span: why a message got the suggestions it got.

One `recommend rank` span per message ranked, the child of the gRPC server span or of the
consumer's process span: the intent the ranker leaned on, the articles it chose with their
scores, the knowledge base and the encoder of the vectors it ranked (classify's). Article ids,
scores and intent labels only: never the message text or the customer id.
"""

from collections.abc import Sequence
from contextlib import AbstractContextManager

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from services.recommend.ranker import RankedSuggestion

tracer = trace.get_tracer(__name__)


def ranking(
    *,
    intent: str | None,
    intent_confidence: float,
    intent_candidates: int,
    top_k: int,
    encoder_id: str,
    index_version: str,
) -> AbstractContextManager[Span]:
    """`recommend rank` as the current span; `record_suggestions` once ranked.

    `intent_candidates`: how many of classify's likeliest intents the ranker weighed (0: it
    had only `intent`)."""
    attributes: dict[str, AttributeValue] = {
        "recommend.encoder.id": encoder_id,
        "recommend.index.version": index_version,
        "recommend.top_k": top_k,
        "recommend.intent_candidates": intent_candidates,
    }
    if intent:
        attributes["recommend.intent"] = intent
        attributes["recommend.intent_confidence"] = intent_confidence
    return tracer.start_as_current_span(
        "recommend rank", kind=SpanKind.INTERNAL, attributes=attributes
    )


def record_suggestions(span: Span, ranked: Sequence[RankedSuggestion], rejected: int) -> None:
    """The articles chosen, best first; `rejected`: articles the customer had turned down,
    left out whatever their score."""
    intents = list(dict.fromkeys(s.article.intent for s in ranked))  # distinct, best first
    span.set_attributes(
        {
            "recommend.article_ids": [s.article.id for s in ranked],
            "recommend.scores": [s.score for s in ranked],
            "recommend.suggested_intents": intents,
            # The answer covers more than one reading of the message.
            "recommend.hedged": len(intents) > 1,
            "recommend.rejected_articles": rejected,
        }
    )
