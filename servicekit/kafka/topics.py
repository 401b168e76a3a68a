"""The topics CarePulse uses, and creating them idempotently."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError, for_code

from servicekit.kafka.producer import quiet_client_logs

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


class TopicCreationFailed(Exception):
    """The broker refused to create a topic as asked (too few brokers for its replicas, say)."""


def ensure_topics(
    bootstrap_servers: str,
    specs: Iterable[TopicSpec],
    *,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
    timeout_s: float = 30,
) -> list[str]:
    """Create missing topics and return their names; existing ones are left as they are.

    Returns once every created topic has a leader for each partition, so a producer started
    next finds it.
    """
    quiet_client_logs()
    timeout_ms = int(timeout_s * 1000)
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="carepulse-topics",
        request_timeout_ms=timeout_ms,
        bootstrap_timeout_ms=timeout_ms,
    )
    try:
        existing = set(admin.list_topics())
        wanted = {
            spec.name: {
                "num_partitions": spec.partitions,
                "replication_factor": replication_factor,
                "configs": {
                    "retention.ms": str(spec.retention_ms),
                    "min.insync.replicas": str(min_insync_replicas),
                },
            }
            for spec in specs
            if spec.name not in existing
        }
        if not wanted:
            return []
        response = admin.create_topics(wanted, timeout_ms=timeout_ms, raise_errors=False)
        created: list[str] = []
        for topic in response["topics"]:
            error = for_code(topic["error_code"])
            if topic["error_code"] == 0:
                log.info("created topic", extra={"topic": topic["name"]})
                created.append(topic["name"])
            elif error is not TopicAlreadyExistsError:  # a concurrent creator is fine
                raise TopicCreationFailed(
                    f"{topic['name']}: {error.message}: {topic['error_message'] or ''}"
                )
        admin.wait_for_topics(created, timeout_ms=timeout_ms)
        return sorted(created, key=list(wanted).index)
    finally:
        admin.close()
