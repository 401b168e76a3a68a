"""The classify domain's result type."""

from __future__ import annotations

from dataclasses import dataclass

TokenAttributions = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class SentenceVector:
    """A message's unit-length sentence embedding, as the wire carries it (`float16_le`:
    IEEE 754 half floats, little-endian): kept in that form from the forward pass on, so the
    cache holds 768 bytes per message and every caller gets the same bytes."""

    encoder_id: str  # the encoder weights that computed it (engine.encoder_id)
    float16_le: bytes


@dataclass(frozen=True)
class Prediction:
    """Sentiment and intent of one message, with calibrated confidences.

    Attributions are (WordPiece token, weight) pairs in text order, without [CLS]/[SEP]; the
    weights of one text sum to 1 in absolute value, positive = pushes towards the prediction:
    a weight is how much the served probability of the served label drops when that piece
    is removed (occlusion, `services.classify.explanations`). They are empty unless an
    explanation was asked for.
    """

    sentiment: str  # "negative" | "neutral" | "positive"
    sentiment_confidence: float
    intent: str
    intent_confidence: float
    model_version: str
    sentence_vector: SentenceVector
    sentiment_attributions: TokenAttributions = ()
    intent_attributions: TokenAttributions = ()
    # The most likely intents with their probabilities, best first.
    intent_candidates: tuple[tuple[str, float], ...] = ()
