"""The classified message leaves in the trace its raw message came with, with its vector."""

from collections.abc import Sequence
from concurrent.futures import Future
from typing import cast

from carepulse.v1 import events_pb2
from google.protobuf.message import Message
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanContext

from servicekit.kafka.consumer import InboundRecord
from servicekit.kafka.producer import EventProducer
from servicekit.settings import KafkaSettings
from services.classify.consumer import ClassifyProcessor
from services.classify.engine import ClassificationEngine
from services.classify.prediction import Prediction, SentenceVector

VECTOR = SentenceVector("test-encoder", bytes.fromhex("003c0000"))  # (1.0, 0.0) in float16


class _FixedPredictions:
    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        return [Prediction("negative", 0.9, "card_arrival", 0.8, "test-v0", VECTOR) for _ in texts]


class _RecordingProducer(EventProducer):
    """Never connects: keeps each message id published, with the span current then."""

    def __init__(self) -> None:
        super().__init__(KafkaSettings(bootstrap_servers="127.0.0.1:1"), client_id="unit-test")
        self.published: dict[str, SpanContext] = {}
        self.messages: dict[str, Message] = {}

    def publish(self, topic: str, *, key: str, message: Message, message_id: str) -> "Future[None]":
        self.published[message_id] = trace.get_current_span().get_span_context()
        self.messages[message_id] = message
        future: Future[None] = Future()
        future.set_result(None)
        return future


def _raw(message_id: str, trace_id: int, span_id: int) -> InboundRecord[events_pb2.CustomerMessage]:
    return InboundRecord(
        value=events_pb2.CustomerMessage(message_id=message_id, text="card declined"),
        key="c",
        topic="messages.raw",
        partition=0,
        offset=trace_id,
        headers={"traceparent": f"00-{trace_id:032x}-{span_id:016x}-01"},
    )


def test_each_classified_message_is_published_in_its_raw_messages_trace() -> None:
    producer = _RecordingProducer()
    processor = ClassifyProcessor(cast(ClassificationEngine, _FixedPredictions()), producer)
    batch_tracer = TracerProvider().get_tracer("test")

    with batch_tracer.start_as_current_span("messages.raw process"):
        processor.process([_raw("m-1", 0xA1, 0xB1), _raw("m-2", 0xA2, 0xB2)])

    published = {
        message_id: (context.trace_id, context.span_id)
        for message_id, context in producer.published.items()
    }
    assert published == {"m-1": (0xA1, 0xB1), "m-2": (0xA2, 0xB2)}


def test_each_classified_message_carries_the_sentence_vector_of_its_prediction() -> None:
    producer = _RecordingProducer()
    processor = ClassifyProcessor(cast(ClassificationEngine, _FixedPredictions()), producer)

    processor.process([_raw("m-1", 0xA1, 0xB1)])

    classified = cast(events_pb2.ClassifiedMessage, producer.messages["m-1"])
    vector = classified.classification.sentence_vector
    assert (vector.encoder_id, vector.float16_le) == (VECTOR.encoder_id, VECTOR.float16_le)
