"""Builds the alert service from its settings and runs it."""

from datetime import UTC, datetime, timedelta

from carepulse.v1 import alert_pb2, alert_pb2_grpc, events_pb2

from servicekit.database import create_database_engine
from servicekit.kafka.consumer import ConsumerLoop
from servicekit.kafka.producer import EventProducer
from servicekit.kafka.topics import MESSAGES_CLASSIFIED
from servicekit.logging import configure_logging
from servicekit.runtime import ServiceSpec, run_service
from servicekit.telemetry import setup_tracing
from services.alert.aggregation import MessageCounter
from services.alert.bucket_closer import BucketCloser
from services.alert.consumer import ClassifiedMessageProcessor
from services.alert.event_feed import EventFeed
from services.alert.lifecycle import AlertLifecycle
from services.alert.metrics import OPEN_ALERTS
from services.alert.outbox import OutboxPublisher
from services.alert.periodic import PeriodicThread
from services.alert.server import AlertServicer
from services.alert.settings import AlertSettings
from services.alert.severity import SeverityPolicy
from services.alert.store import AlertStore

PRUNE_INTERVAL_S = 3600.0


def main() -> int:
    settings = AlertSettings()
    configure_logging("alert", settings.log_level)
    tracing = setup_tracing("alert")
    engine = create_database_engine(settings.database_url, settings.sqlite_path)
    feed = EventFeed()
    store = AlertStore(engine, on_events_committed=feed.committed)
    lifecycle = AlertLifecycle(
        store, SeverityPolicy(settings.critical_score, settings.critical_negatives)
    )
    closer = BucketCloser(
        store,
        lifecycle,
        settings.spike_config,
        bucket_width=settings.bucket_width,
        allowed_lateness=settings.allowed_lateness,
        not_before=datetime.now(UTC) + timedelta(seconds=settings.startup_hold_seconds),
    )
    producer = EventProducer(settings.kafka, client_id="alert")
    ticker = PeriodicThread("alert-ticker", settings.tick_interval_seconds, closer.close_due)
    relay = PeriodicThread(
        "alert-outbox",
        settings.outbox_poll_seconds,
        OutboxPublisher(store, producer).publish_pending,
    )
    feed.add_listener(relay.wake)
    retention = timedelta(seconds=settings.processed_ids_retention_seconds)
    pruner = PeriodicThread(
        "alert-prune",
        PRUNE_INTERVAL_S,
        lambda: store.forget_processed_before(datetime.now(UTC) - retention),
    )

    def start() -> None:
        store.create_tables()
        feed.committed(store.latest_sequence())
        OPEN_ALERTS.set(store.count_open_alerts())
        for thread in (ticker, relay, pruner):
            thread.start()

    servicer = AlertServicer(store, lifecycle, feed, stream_poll_s=settings.stream_poll_seconds)
    consumer = ConsumerLoop(
        settings=settings.kafka,
        group_id=settings.consumer_group,
        topic=MESSAGES_CLASSIFIED,
        message_type=events_pb2.ClassifiedMessage,
        processor=ClassifiedMessageProcessor(MessageCounter(store, settings.bucket_width)),
        producer=producer,
    )
    return run_service(
        ServiceSpec(
            name="alert",
            settings=settings,
            tracing=tracing,
            service_names=[alert_pb2.DESCRIPTOR.services_by_name["AlertService"].full_name],
            registrations=[
                lambda server: alert_pb2_grpc.add_AlertServiceServicer_to_server(servicer, server)
            ],
            consumers=[consumer],
            readiness_checks={
                "database": store.reachable,
                "kafka": producer.reachable,
                "ticker": ticker.is_alive,
                "outbox": relay.is_alive,
            },
            startup=start,  # tables exist and state is loaded before the consumer starts
            closers=[
                ticker.stop,
                relay.stop,
                pruner.stop,
                feed.close,
                producer.close,
                engine.dispose,
            ],
        )
    )
