"""The classify service's Prometheus metrics."""

from collections import Counter as Tally
from collections.abc import Sequence

from prometheus_client import Counter, Histogram

from services.classify.prediction import Prediction

# Up to CLASSIFY_MAX_BATCH's bound (512): one caller's batch can fill a micro-batch alone.
BATCH_SIZE = Histogram(
    "carepulse_classify_batch_size",
    "Distinct texts computed per micro-batch (merged from one or more callers).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
# The batcher waits CLASSIFY_MAX_WAIT_MS (5 ms) for company; ModelQueueWaitHigh fires at 0.1 s.
QUEUE_WAIT = Histogram(
    "carepulse_classify_queue_wait_seconds",
    "Time from a caller's texts being queued to the start of their micro-batch.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
# Explanations are left out: they take seconds and would hide a slow forward pass.
MODEL_SECONDS = Histogram(
    "carepulse_classify_model_seconds",
    "Encoder forward pass plus heads of one micro-batch's plain texts.",
    ["model_version", "forward"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
_CONFIDENCE = Histogram(
    "carepulse_classify_confidence",
    "Calibrated probability of the predicted label, per message classified.",
    ["head"],
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
)
SENTIMENT_CONFIDENCE = _CONFIDENCE.labels("sentiment")
INTENT_CONFIDENCE = _CONFIDENCE.labels("intent")
# Counted where a message leaves for messages.classified: every message passes there once
# (chat ones too, from the cache), while a chat's gRPC answer would count it a second time.
# At least once: a batch redelivered after a failed publish is counted again.
MESSAGES_CLASSIFIED = Counter(
    "carepulse_messages_classified_total",
    "Messages classified onto messages.classified, by predicted sentiment and intent.",
    ["sentiment", "intent"],
)
_CACHE_LOOKUPS = Counter(
    "carepulse_classify_cache_lookups_total",
    "Texts looked up in the prediction cache (gRPC and Kafka callers alike).",
    ["result"],
)
CACHE_HITS = _CACHE_LOOKUPS.labels("hit")
CACHE_MISSES = _CACHE_LOOKUPS.labels("miss")


def count_classified(predictions: Sequence[Prediction]) -> None:
    """Messages by predicted labels, and the confidence of each label."""
    for (sentiment, intent), count in Tally((p.sentiment, p.intent) for p in predictions).items():
        MESSAGES_CLASSIFIED.labels(sentiment, intent).inc(count)
    for prediction in predictions:
        SENTIMENT_CONFIDENCE.observe(prediction.sentiment_confidence)
        INTENT_CONFIDENCE.observe(prediction.intent_confidence)
