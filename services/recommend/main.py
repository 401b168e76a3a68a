"""Builds the recommend service from its settings and runs it."""

from datetime import UTC, datetime, timedelta
from typing import Any

from carepulse.v1 import events_pb2, recommend_pb2, recommend_pb2_grpc

from servicekit.database import create_database_engine, database_reachable
from servicekit.grpc.client import open_channel
from servicekit.kafka.consumer import ConsumerLoop
from servicekit.kafka.producer import EventProducer
from servicekit.kafka.topics import FEEDBACK, MESSAGES_CLASSIFIED
from servicekit.logging import configure_logging
from servicekit.migrations import upgrade_to_head
from servicekit.periodic import PeriodicThread
from servicekit.runtime import ServiceSpec, run_service
from servicekit.telemetry import setup_telemetry
from services.recommend.classify_embedder import EMBED_METHOD, ClassifyEmbedder
from services.recommend.consumers import FeedbackProcessor, PreparedSuggestionsProcessor
from services.recommend.feedback import FeedbackStore
from services.recommend.knowledge_base import load_knowledge_base
from services.recommend.knowledge_index import KnowledgeIndex
from services.recommend.metrics import RETENTION_DELETED
from services.recommend.migrations import RECOMMEND_MIGRATIONS
from services.recommend.server import RecommendServicer
from services.recommend.settings import RecommendSettings
from services.recommend.suggester import Suggester
from services.recommend.vector_cache import VectorCache


def main() -> int:
    settings = RecommendSettings()
    configure_logging("recommend", settings.log_level)
    telemetry = setup_telemetry("recommend")
    database = create_database_engine(settings.database_url, settings.sqlite_path)
    upgrade_to_head(database, RECOMMEND_MIGRATIONS)  # before anything reads or writes
    store = FeedbackStore(database)
    classify = open_channel(settings.classify_addr, retry_methods=[EMBED_METHOD])
    # Loaded in the background (classify may still be starting); SERVING only once loaded.
    index = KnowledgeIndex(
        load_knowledge_base(settings.knowledge_base),
        ClassifyEmbedder(
            classify,
            batch_size=settings.embed_batch_size,
            deadline_s=settings.embed_deadline_s,
        ),
        VectorCache(settings.vector_cache_dir),
        refresh_min_interval_s=settings.refresh_min_interval_s,
    )
    suggester = Suggester(index, store)
    producer = EventProducer(settings.kafka, client_id="recommend")  # dead letters only
    servicer = RecommendServicer(
        suggester,
        store,
        default_top_k=settings.default_top_k,
        max_top_k=settings.max_top_k,
    )
    retention = timedelta(days=settings.feedback_retention_days)
    retention_job = PeriodicThread(
        "recommend-retention",
        settings.retention_interval_s,
        lambda: _forget_expired(store, datetime.now(UTC) - retention),
    )
    consumers: list[ConsumerLoop[Any]] = [
        ConsumerLoop(
            settings=settings.kafka,
            group_id="recommend-feedback",
            topic=FEEDBACK,
            message_type=events_pb2.FeedbackEvent,
            processor=FeedbackProcessor(store),
            producer=producer,
        ),
        ConsumerLoop(
            settings=settings.kafka,
            group_id="recommend-prepared",
            topic=MESSAGES_CLASSIFIED,
            message_type=events_pb2.ClassifiedMessage,
            processor=PreparedSuggestionsProcessor(suggester, settings.default_top_k),
            producer=producer,
        ),
    ]

    return run_service(
        ServiceSpec(
            name="recommend",
            settings=settings,
            telemetry=telemetry,
            service_names=[recommend_pb2.DESCRIPTOR.services_by_name["RecommendService"].full_name],
            registrations=[
                lambda server: recommend_pb2_grpc.add_RecommendServiceServicer_to_server(
                    servicer, server
                )
            ],
            consumers=consumers,
            startup=lambda: _start(index, retention_job),
            readiness_checks={
                "knowledge_base": lambda: index.ready,
                "database": lambda: database_reachable(database),
                "kafka": producer.reachable,
            },
            # The index first: closing the channel then ends a call to classify in flight.
            closers=[
                index.stop,
                classify.close,
                retention_job.stop,
                producer.close,
                database.dispose,
            ],
        )
    )


def _start(index: KnowledgeIndex, retention_job: PeriodicThread) -> None:
    index.start()
    retention_job.start()


def _forget_expired(store: FeedbackStore, cutoff: datetime) -> None:
    forgotten = store.forget_before(cutoff)
    RETENTION_DELETED.labels("vote").inc(forgotten.votes)
    RETENTION_DELETED.labels("suggestion").inc(forgotten.suggestions)
