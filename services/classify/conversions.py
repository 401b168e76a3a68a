"""Domain predictions to protobuf, used by both the gRPC and the Kafka path."""

from carepulse.v1 import events_pb2

from services.classify.prediction import Prediction, SentenceVector

_SENTIMENTS = {
    "negative": events_pb2.SENTIMENT_NEGATIVE,
    "neutral": events_pb2.SENTIMENT_NEUTRAL,
    "positive": events_pb2.SENTIMENT_POSITIVE,
}


def to_classification(prediction: Prediction) -> events_pb2.Classification:
    return events_pb2.Classification(
        sentiment=_SENTIMENTS[prediction.sentiment],
        sentiment_confidence=prediction.sentiment_confidence,
        intent=prediction.intent,
        intent_confidence=prediction.intent_confidence,
        model_version=prediction.model_version,
        sentiment_attributions=[
            events_pb2.TokenAttribution(token=t, weight=w)
            for t, w in prediction.sentiment_attributions
        ],
        intent_attributions=[
            events_pb2.TokenAttribution(token=t, weight=w)
            for t, w in prediction.intent_attributions
        ],
        intent_candidates=[
            events_pb2.IntentScore(intent=i, confidence=c) for i, c in prediction.intent_candidates
        ],
        sentence_vector=to_sentence_vector(prediction.sentence_vector),
    )


def to_sentence_vector(vector: SentenceVector) -> events_pb2.SentenceVector:
    return events_pb2.SentenceVector(encoder_id=vector.encoder_id, float16_le=vector.float16_le)
