"""One encoder pass per message, across the real processes: recommend holds no TensorFlow (it
ranks the vector classify sent: tests/integration/test_chat.py), classify on a CPU serves the
cached int8 model without TensorFlow, and a classified message from another encoder is
dead-lettered with the reason, never ranked."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from carepulse.v1 import events_pb2

from local.stack import Stack
from servicekit.kafka import headers
from servicekit.kafka.producer import EventProducer
from servicekit.kafka.topics import MESSAGES_CLASSIFIED, dead_letter_topic
from servicekit.settings import KafkaSettings
from tests.integration.topic_reader import Record, header, read_until

pytestmark = pytest.mark.integration

FOREIGN_ENCODER = "some-other-encoder:00000000"


def _mapped_files(pid: int) -> str:
    """Every file the process has mapped: its shared libraries above all."""
    return Path(f"/proc/{pid}/maps").read_text()


def test_recommend_runs_without_a_model_and_classify_on_onnx_runtime_alone(stack: Stack) -> None:
    pids = stack.pids()
    classify = _mapped_files(pids["classify"])
    # The check can see a model runtime: classify's process has ONNX Runtime mapped.
    assert "onnxruntime" in classify
    # CLASSIFY_FORWARD=auto on a CPU: the int8 model comes from the cache, built (on a miss)
    # by a subprocess that took TensorFlow with it.
    assert "libtensorflow" not in classify
    recommend = _mapped_files(pids["recommend"])
    assert "tensorflow" not in recommend
    assert "onnxruntime" not in recommend


@pytest.fixture
def producer(stack: Stack) -> Iterator[EventProducer]:
    settings = KafkaSettings(bootstrap_servers=stack.broker.bootstrap_servers)
    producer = EventProducer(settings, client_id="test-sentence-vectors")
    yield producer
    producer.close()


def test_a_classified_message_from_another_encoder_is_dead_lettered_with_the_reason(
    stack: Stack, producer: EventProducer, unique: str
) -> None:
    message_id = f"foreign-vector-{unique}"
    classified = events_pb2.ClassifiedMessage(
        message=events_pb2.CustomerMessage(
            message_id=message_id,
            conversation_id=f"c-{unique}",
            customer_id=f"u-{unique}",
            channel="app",
        ),
        classification=events_pb2.Classification(
            sentiment=events_pb2.SENTIMENT_NEUTRAL,
            intent="card_arrival",
            intent_confidence=0.9,
            sentence_vector=events_pb2.SentenceVector(
                encoder_id=FOREIGN_ENCODER, float16_le=np.ones(384, "<f2").tobytes()
            ),
        ),
    )

    producer.wait_delivered(
        [
            producer.publish(
                MESSAGES_CLASSIFIED, key=f"c-{unique}", message=classified, message_id=message_id
            )
        ]
    )

    def dead_lettered(records: list[Record]) -> bool:
        return any(header(r, headers.MESSAGE_ID) == message_id for r in records)

    records = read_until(
        stack.broker.bootstrap_servers, dead_letter_topic(MESSAGES_CLASSIFIED), dead_lettered
    )
    (dead,) = [r for r in records if header(r, headers.MESSAGE_ID) == message_id]
    reason = header(dead, headers.DLQ_ERROR) or ""
    assert reason.startswith("ForeignEncoder: ")
    assert FOREIGN_ENCODER in reason
