"""Builds the classify service from its settings and runs it."""

from carepulse.v1 import classify_pb2, classify_pb2_grpc, events_pb2

from servicekit.kafka.consumer import ConsumerLoop
from servicekit.kafka.producer import EventProducer
from servicekit.kafka.topics import MESSAGES_RAW
from servicekit.logging import configure_logging
from servicekit.runtime import ServiceSpec, run_service
from servicekit.telemetry import setup_telemetry
from services.classify.bundle import load_bundle
from services.classify.consumer import ClassifyProcessor
from services.classify.engine import ClassificationEngine
from services.classify.server import ClassifyServicer
from services.classify.serving_encoder import serving_encoder
from services.classify.settings import ClassifySettings


def build_engine(settings: ClassifySettings) -> ClassificationEngine:
    """The model from the configured bundle; also used by the throughput benchmark."""
    bundle = load_bundle(settings.bundle_dir, encoder_dir=settings.encoder_dir)
    return ClassificationEngine(
        bundle,
        serving_encoder(bundle, settings),
        max_batch=settings.max_batch,
        max_wait_ms=settings.max_wait_ms,
        cache_size=settings.cache_size,
        forward=settings.forward,
        max_queued_texts=settings.max_queued_texts,
    )


def build_servicer(engine: ClassificationEngine, settings: ClassifySettings) -> ClassifyServicer:
    return ClassifyServicer(
        engine,
        max_texts=settings.max_texts_per_request,
        max_text_chars=settings.max_text_chars,
    )


def main() -> int:
    settings = ClassifySettings()
    configure_logging("classify", settings.log_level)
    telemetry = setup_telemetry("classify")
    engine = build_engine(settings)
    producer = EventProducer(settings.kafka, client_id="classify")
    servicer = build_servicer(engine, settings)
    consumers = [
        ConsumerLoop(
            settings=settings.kafka,
            group_id=settings.consumer_group,
            topic=MESSAGES_RAW,
            message_type=events_pb2.CustomerMessage,
            processor=ClassifyProcessor(engine, producer),
            producer=producer,
        )
        for _ in range(settings.kafka_consumers)
    ]
    return run_service(
        ServiceSpec(
            name="classify",
            settings=settings,
            telemetry=telemetry,
            service_names=[classify_pb2.DESCRIPTOR.services_by_name["ClassifyService"].full_name],
            registrations=[
                lambda server: classify_pb2_grpc.add_ClassifyServiceServicer_to_server(
                    servicer, server
                )
            ],
            consumers=consumers,
            readiness_checks={"model": lambda: engine.ready, "kafka": producer.reachable},
            startup=engine.start,  # warm-up: every length bucket traced before SERVING
            closers=[engine.close, producer.close],
        )
    )
