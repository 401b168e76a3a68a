"""messages.raw → messages.classified: the streaming path through the same engine."""

from collections.abc import Sequence
from concurrent.futures import Future

from carepulse.v1 import events_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from servicekit.kafka.consumer import InboundRecord
from servicekit.kafka.producer import EventProducer
from servicekit.kafka.topics import MESSAGES_CLASSIFIED
from services.classify.conversions import to_classification
from services.classify.engine import ClassificationEngine
from services.classify.metrics import count_classified


class ClassifyProcessor:
    def __init__(self, engine: ClassificationEngine, producer: EventProducer) -> None:
        self._engine = engine
        self._producer = producer

    def process(
        self, records: Sequence[InboundRecord[events_pb2.CustomerMessage]]
    ) -> list["Future[None]"]:
        predictions = self._engine.classify([record.value.text for record in records])
        now = Timestamp()
        now.GetCurrentTime()
        published: list[Future[None]] = []
        for record, prediction in zip(records, predictions, strict=True):
            # The classified message's send span continues the raw message's trace, where
            # ingest's send span is: one trace from the chat to recommend and alert.
            with record.continue_trace():
                published.append(
                    self._producer.publish(
                        MESSAGES_CLASSIFIED,
                        key=record.value.conversation_id,
                        message=events_pb2.ClassifiedMessage(
                            message=record.value,
                            classification=to_classification(prediction),
                            classified_at=now,
                        ),
                        message_id=record.value.message_id,
                    )
                )
        count_classified(predictions)
        return published
