"""The topics CarePulse uses, and creating them idempotently."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka.admin import AdminClient, NewTopic

log = logging.getLogger(__name__)

MESSAGES_RAW = "messages.raw"
MESSAGES_CLASSIFIED = "messages.classified"
FEEDBACK = "feedback"
ALERTS = "alerts"
# Alert notifications (webhooks, Alertmanager) given up on after their last attempt.
ALERTS_WEBHOOK_DLQ = "alerts.webhook.dlq"

_DAY_MS = 24 * 3600 * 1000


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int


def carepulse_topics(partitions: int = 3) -> list[TopicSpec]:
    """Every topic with its partitions and retention (documented in docs/topics.md)."""
    week, month = 7 * _DAY_MS, 30 * _DAY_MS
    main = [
        TopicSpec(MESSAGES_RAW, partitions, week),
        TopicSpec(MESSAGES_CLASSIFIED, partitions, week),
        TopicSpec(FEEDBACK, partitions, month),
        TopicSpec(ALERTS, partitions, month),
    ]
    # Dead letters wait for a person, so they are kept longer; one partition keeps them in order.
    consumed = (MESSAGES_RAW, MESSAGES_CLASSIFIED, FEEDBACK)
    dead_letters = [TopicSpec(dead_letter_topic(t), 1, month) for t in consumed]
    return main + dead_letters + [TopicSpec(ALERTS_WEBHOOK_DLQ, 1, month)]


def ensure_topics(
    bootstrap_servers: str,
    specs: Iterable[TopicSpec],
    *,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
    timeout_s: float = 30,
) -> list[str]:
    """Create missing topics and return their names; existing ones are left as they are."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    wanted = [
        NewTopic(
            spec.name,
            num_partitions=spec.partitions,
            replication_factor=replication_factor,
            config={
                "retention.ms": str(spec.retention_ms),
                "min.insync.replicas": str(min_insync_replicas),
            },
        )
        for spec in specs
        if spec.name not in existing
    ]
    created: list[str] = []
    if not wanted:
        return created
    for name, future in admin.create_topics(wanted, request_timeout=timeout_s).items():
        try:
            future.result()
            log.info("created topic", extra={"topic": name})
            created.append(name)
        except Exception as error:  # a concurrent creator is fine; anything else is not
            if "TOPIC_ALREADY_EXISTS" not in str(error):
                raise
    return created
