"""Topic creation against the real broker: what the broker reports is what was asked for."""

import os
import subprocess
import sys
import uuid

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource

from local.stack import REPO_ROOT, Stack
from servicekit.kafka.topics import TopicSpec, carepulse_topics, ensure_topics

pytestmark = pytest.mark.integration


def _min_isr(admin: AdminClient, topic: str) -> str:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    return str(configs["min.insync.replicas"].value)


def test_created_topic_has_the_requested_replicas_and_min_isr(stack: Stack) -> None:
    bootstrap = stack.broker.bootstrap_servers
    name = f"test.durability.{uuid.uuid4().hex[:8]}"
    created = ensure_topics(
        bootstrap, [TopicSpec(name, 2, 3_600_000)], replication_factor=1, min_insync_replicas=1
    )
    assert created == [name]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    partitions = admin.list_topics(name, timeout=30).topics[name].partitions
    assert len(partitions) == 2
    assert all(len(p.replicas) == 1 for p in partitions.values())
    assert _min_isr(admin, name) == "1"
    # A second call is a no-op, not an error.
    assert ensure_topics(bootstrap, [TopicSpec(name, 2, 3_600_000)]) == []


def test_replication_beyond_the_brokers_is_refused_not_silently_reduced(stack: Stack) -> None:
    name = f"test.durability.{uuid.uuid4().hex[:8]}"
    with pytest.raises(KafkaException, match=r"(?i)replication"):
        ensure_topics(
            stack.broker.bootstrap_servers,
            [TopicSpec(name, 1, 3_600_000)],
            replication_factor=3,
            min_insync_replicas=2,
        )


def test_create_topics_command_is_idempotent_and_leaves_every_topic_in_place(
    stack: Stack,
) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": stack.broker.bootstrap_servers}
    result = subprocess.run(
        [sys.executable, "-m", "servicekit.kafka.create_topics"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert '"created_topics": []' in result.stderr + result.stdout
    admin = AdminClient({"bootstrap.servers": stack.broker.bootstrap_servers})
    existing = set(admin.list_topics(timeout=30).topics)
    assert {spec.name for spec in carepulse_topics()} <= existing
