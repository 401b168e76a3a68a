import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from servicekit.settings import KafkaSettings


def test_durability_defaults_suit_a_single_local_broker() -> None:
    settings = KafkaSettings()
    assert (settings.replication_factor, settings.min_insync_replicas) == (1, 1)


def test_production_durability_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("KAFKA_MIN_INSYNC_REPLICAS", "2")
    settings = KafkaSettings()
    assert (settings.replication_factor, settings.min_insync_replicas) == (3, 2)


def test_min_insync_replicas_above_the_replication_factor_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "1")
    monkeypatch.setenv("KAFKA_MIN_INSYNC_REPLICAS", "2")
    with pytest.raises(ValidationError, match="must not exceed"):
        KafkaSettings()


def test_create_topics_command_fails_fast_on_impossible_durability() -> None:
    env = {**os.environ, "KAFKA_REPLICATION_FACTOR": "1", "KAFKA_MIN_INSYNC_REPLICAS": "3"}
    # No broker is running at this address: the settings must be refused before any connect.
    env["KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:1"
    result = subprocess.run(
        [sys.executable, "-m", "servicekit.kafka.create_topics"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "must not exceed" in result.stdout
