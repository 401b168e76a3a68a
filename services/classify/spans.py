"""Classify's own spans: what the model did for each caller and for each micro-batch.

`classify` (one per `ClassificationEngine.classify` call) is the child of the caller's span
(the gRPC server span, the consumer's process span) and carries the predicted labels and their
confidences, in the caller's order. `classify batch` (one per micro-batch, on the batcher
thread) is the child of none: it serves many callers' traces, so it links to each caller's
`classify` span, and each of those links back to it. Labels and counts only, never text.
"""

from collections.abc import Sequence
from contextlib import AbstractContextManager

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanContext, SpanKind

from services.classify.prediction import Prediction

tracer = trace.get_tracer(__name__)


def classifying(texts: int, explain: bool, model_version: str) -> AbstractContextManager[Span]:
    """`classify` for one caller, as the current span; `record_answer` when answered."""
    return tracer.start_as_current_span(
        "classify",
        kind=SpanKind.INTERNAL,
        attributes={
            "classify.model.version": model_version,
            "classify.texts": texts,
            "classify.explain": explain,
        },
    )


def record_answer(
    span: Span, predictions: Sequence[Prediction], *, computed: int, batch: SpanContext
) -> None:
    """What the caller got: `computed` of its texts came from the model, in micro-batch
    `batch` (invalid when the cache answered them all), the others from the cache."""
    if not span.is_recording():  # spares the per-text lists when the trace is not sampled
        return
    if batch.is_valid:
        span.add_link(batch)
    span.set_attributes(
        {
            "classify.cache_hits": len(predictions) - computed,
            "classify.sentiment": [p.sentiment for p in predictions],
            "classify.sentiment_confidence": [p.sentiment_confidence for p in predictions],
            "classify.intent": [p.intent for p in predictions],
            "classify.intent_confidence": [p.intent_confidence for p in predictions],
        }
    )


def start_batch(
    *,
    callers: Sequence[tuple[SpanContext, int]],
    model_name: str,
    model_version: str,
    forward: str,
    texts: int,
    explained_texts: int,
    oldest_wait_s: float,
) -> Span:
    """`classify batch`, not current: the batcher makes it so while it works on the batch,
    and the finishing thread ends it. `callers`: each caller's span and its number of texts
    in this batch (duplicates across callers are computed once, so `texts` may be fewer)."""
    attributes: dict[str, str | int | float] = {
        "classify.model.name": model_name,
        "classify.model.version": model_version,
        "classify.forward": forward,
        "classify.batch.requests": len(callers),
        "classify.batch.texts": texts,
        "classify.batch.explained_texts": explained_texts,
        "classify.batch.oldest_queue_wait_ms": oldest_wait_s * 1000.0,
    }
    return tracer.start_span(
        "classify batch",
        kind=SpanKind.INTERNAL,
        links=[
            Link(context, {"classify.texts": count})
            for context, count in callers
            if context.is_valid  # callers outside any trace have nothing to link to
        ],
        attributes=attributes,
    )


def record_token_lengths(span: Span, lengths: Sequence[int]) -> None:
    """Tokens the encoder sees per plain text, [CLS] and [SEP] included (padding is not)."""
    if lengths:
        span.set_attributes(
            {
                "classify.batch.tokens_max": max(lengths),
                "classify.batch.tokens_mean": sum(lengths) / len(lengths),
            }
        )
