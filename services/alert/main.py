"""Builds the alert service from its settings and runs it."""

from datetime import UTC, datetime, timedelta

import httpx
from carepulse.v1 import alert_pb2, alert_pb2_grpc, events_pb2

from servicekit.database import create_database_engine
from servicekit.kafka.consumer import ConsumerLoop
from servicekit.kafka.producer import EventProducer
from servicekit.kafka.topics import MESSAGES_CLASSIFIED
from servicekit.logging import configure_logging
from servicekit.migrations import upgrade_to_head
from servicekit.periodic import PeriodicThread
from servicekit.runtime import ServiceSpec, run_service
from servicekit.telemetry import setup_telemetry
from services.alert.consumer import ClassifiedMessageProcessor
from services.alert.lifecycle.alert_lifecycle import AlertLifecycle
from services.alert.lifecycle.bucket_closer import BucketCloser
from services.alert.lifecycle.counting import MessageCounter
from services.alert.lifecycle.severity import SeverityPolicy
from services.alert.metrics import OPEN_ALERTS
from services.alert.migrations import ALERT_MIGRATIONS
from services.alert.notification.alertmanager import AlertmanagerDestination, OpenAlertRepeater
from services.alert.notification.dead_letters import KafkaNotificationDeadLetters
from services.alert.notification.event_feed import EventFeed
from services.alert.notification.notifier import (
    DeadLetterSink,
    Destination,
    NotificationDispatcher,
    RetryPolicy,
)
from services.alert.notification.outbox import OutboxPublisher
from services.alert.notification.webhook import WebhookDestination
from services.alert.server import AlertServicer
from services.alert.settings import AlertSettings
from services.alert.storage.deliveries import DeliveryQueue
from services.alert.storage.store import AlertStore

PRUNE_INTERVAL_S = 3600.0


def main() -> int:
    settings = AlertSettings()
    configure_logging("alert", settings.log_level)
    telemetry = setup_telemetry("alert")
    engine = create_database_engine(settings.database_url, settings.sqlite_path)
    feed = EventFeed()
    http = httpx.Client(timeout=settings.notification_timeout_seconds)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    webhooks = [WebhookDestination(url, secret.encode(), http) for url in settings.webhook_urls]
    alertmanager = (
        AlertmanagerDestination(
            settings.alertmanager_url,
            http,
            alerts_url=settings.alerts_url,
            repeat_interval=timedelta(seconds=settings.alertmanager_repeat_seconds),
        )
        if settings.alertmanager_url
        else None
    )
    destinations: list[Destination] = [*webhooks, *([alertmanager] if alertmanager else [])]
    store = AlertStore(
        engine,
        on_events_committed=feed.committed,
        notification_destinations=[destination.name for destination in destinations],
    )
    lifecycle = AlertLifecycle(
        store, SeverityPolicy(settings.critical_score, settings.critical_negatives)
    )
    closer = BucketCloser(
        store,
        lifecycle,
        settings.monitor_config,
        bucket_width=settings.bucket_width,
        allowed_lateness=settings.allowed_lateness,
        history=timedelta(hours=settings.bucket_history_hours),
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
    notifiers = _notification_threads(
        settings,
        store,
        DeliveryQueue(engine),
        webhooks,
        alertmanager,
        KafkaNotificationDeadLetters(producer),
    )
    for notifier in notifiers:
        feed.add_listener(notifier.wake)
    retention = timedelta(seconds=settings.processed_ids_retention_seconds)
    pruner = PeriodicThread(
        "alert-prune",
        PRUNE_INTERVAL_S,
        lambda: store.forget_processed_before(datetime.now(UTC) - retention),
    )

    def start() -> None:
        upgrade_to_head(engine, ALERT_MIGRATIONS)  # before anything reads or writes
        feed.committed(store.latest_sequence())
        OPEN_ALERTS.set(store.count_open_alerts())
        for thread in (ticker, relay, pruner, *notifiers):
            thread.start()

    servicer = AlertServicer(
        store,
        lifecycle,
        feed,
        bucket_width=settings.bucket_width,
        stream_poll_s=settings.stream_poll_seconds,
        max_streams=settings.max_streams,
    )
    consumer = ConsumerLoop(
        settings=settings.kafka,
        group_id=settings.consumer_group,
        topic=MESSAGES_CLASSIFIED,
        message_type=events_pb2.ClassifiedMessage,
        processor=ClassifiedMessageProcessor(
            MessageCounter(store, settings.bucket_width), settings.topic_attribution
        ),
        producer=producer,
    )
    return run_service(
        ServiceSpec(
            name="alert",
            settings=settings,
            telemetry=telemetry,
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
                *(notifier.stop for notifier in notifiers),
                http.close,
                feed.close,
                producer.close,
                engine.dispose,
            ],
        )
    )


def _notification_threads(
    settings: AlertSettings,
    store: AlertStore,
    queue: DeliveryQueue,
    webhooks: list[WebhookDestination],
    alertmanager: AlertmanagerDestination | None,
    dead_letters: DeadLetterSink,
) -> list[PeriodicThread]:
    """One thread per destination, so a slow receiver never delays another."""
    policy = RetryPolicy(
        max_attempts=settings.webhook_max_attempts,
        initial_backoff=timedelta(seconds=settings.webhook_initial_backoff_seconds),
        max_backoff=timedelta(seconds=settings.webhook_max_backoff_seconds),
    )
    threads = [
        PeriodicThread(
            f"alert-{webhook.name}",
            settings.outbox_poll_seconds,
            NotificationDispatcher(queue, webhook, policy, dead_letters).deliver_due,
        )
        for webhook in webhooks
    ]
    if alertmanager is not None:
        dispatcher = NotificationDispatcher(queue, alertmanager, policy, dead_letters)
        repeater = OpenAlertRepeater(
            store, alertmanager, timedelta(seconds=settings.alertmanager_repeat_seconds)
        )

        def notify_alertmanager() -> None:
            # One thread for both, so a repeat never lands after the `resolved` it predates.
            dispatcher.deliver_due()
            repeater.repost_if_due()

        threads.append(
            PeriodicThread("alert-alertmanager", settings.outbox_poll_seconds, notify_alertmanager)
        )
    return threads
