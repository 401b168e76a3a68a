"""Builds the ingest service from its settings and runs it."""

from carepulse.v1 import ingest_pb2, ingest_pb2_grpc

from servicekit.kafka.producer import EventProducer
from servicekit.logging import configure_logging
from servicekit.runtime import ServiceSpec, run_service
from servicekit.telemetry import setup_telemetry
from services.ingest.dedup import DuplicateWindow
from services.ingest.pipeline import IngestPipeline
from services.ingest.server import IngestServicer
from services.ingest.settings import IngestSettings


def main() -> int:
    settings = IngestSettings()
    configure_logging("ingest", settings.log_level)
    telemetry = setup_telemetry("ingest")
    producer = EventProducer(settings.kafka, client_id="ingest")
    dedup = DuplicateWindow(settings.dedup_window_s, settings.dedup_max_entries)
    servicer = IngestServicer(
        IngestPipeline(dedup, settings.max_text_chars),
        dedup,
        producer,
        max_batch=settings.max_batch_messages,
        # The producer settles every publish within its delivery timeout.
        max_wait_s=settings.kafka.delivery_timeout_s + 5,
    )
    return run_service(
        ServiceSpec(
            name="ingest",
            settings=settings,
            telemetry=telemetry,
            service_names=[ingest_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name],
            registrations=[
                lambda server: ingest_pb2_grpc.add_IngestServiceServicer_to_server(servicer, server)
            ],
            readiness_checks={"kafka": producer.reachable},
            closers=[producer.close],
        )
    )
