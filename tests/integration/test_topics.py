"""Topic creation against the real broker: what the broker reports is what was asked for."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from local.stack import REPO_ROOT, Stack
from servicekit.kafka.topics import TopicCreationFailed, TopicSpec, carepulse_topics, ensure_topics

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(stack: Stack) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=stack.broker.bootstrap_servers)
    yield client
    client.close()


def _min_isr(admin: KafkaAdminClient, topic: str) -> str:
    resource = ConfigResource(ConfigResourceType.TOPIC, topic)
    configs = admin.describe_configs([resource], config_filter="all")["topic"][topic]
    return str(configs["min.insync.replicas"]["value"])


def test_created_topic_has_the_requested_replicas_and_min_isr(
    stack: Stack, admin: KafkaAdminClient
) -> None:
    bootstrap = stack.broker.bootstrap_servers
    name = f"test.durability.{uuid.uuid4().hex[:8]}"
    created = ensure_topics(
        bootstrap, [TopicSpec(name, 2, 3_600_000)], replication_factor=1, min_insync_replicas=1
    )
    assert created == [name]
    (topic,) = admin.describe_topics([name])
    assert len(topic["partitions"]) == 2
    assert all(len(p["replica_nodes"]) == 1 for p in topic["partitions"])
    assert _min_isr(admin, name) == "1"
    # A second call is a no-op, not an error.
    assert ensure_topics(bootstrap, [TopicSpec(name, 2, 3_600_000)]) == []


def test_replication_beyond_the_brokers_is_refused_not_silently_reduced(stack: Stack) -> None:
    name = f"test.durability.{uuid.uuid4().hex[:8]}"
    with pytest.raises(TopicCreationFailed, match=r"(?i)replication"):
        ensure_topics(
            stack.broker.bootstrap_servers,
            [TopicSpec(name, 1, 3_600_000)],
            replication_factor=3,
            min_insync_replicas=2,
        )


def test_create_topics_command_is_idempotent_and_leaves_every_topic_in_place(
    stack: Stack, admin: KafkaAdminClient
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
    existing = set(admin.list_topics())
    assert {spec.name for spec in carepulse_topics()} <= existing
