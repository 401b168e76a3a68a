"""Typed settings shared by every service, read from the environment (fail fast on bad values)."""

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """Broker connection and consumer behaviour; env prefix `KAFKA_`."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    max_batch: int = Field(default=64, ge=1, le=10_000)
    poll_timeout_s: float = Field(default=0.5, gt=0)
    # Attempts of a record's processing before it is dead-lettered; bounded so a poison
    # record never blocks its partition.
    max_attempts: int = Field(default=3, ge=1, le=20)
    retry_backoff_s: float = Field(default=0.2, ge=0)
    # An outage (database down) is retried forever, waiting up to this long between tries.
    outage_backoff_max_s: float = Field(default=30.0, gt=0)
    delivery_timeout_s: float = Field(default=30.0, gt=0)
    # A member that takes longer than this between polls (one batch) leaves its group, and its
    # partitions move to another member; its batch is then redelivered there.
    max_poll_interval_s: float = Field(default=300.0, gt=0)
    # Durability of the topics CarePulse creates: one broker locally; a cluster sets 3 and 2,
    # so an `acks=all` write survives the loss of one broker and is refused when two are gone.
    replication_factor: int = Field(default=1, ge=1)
    min_insync_replicas: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _min_isr_within_replicas(self) -> Self:
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                "KAFKA_MIN_INSYNC_REPLICAS must not exceed KAFKA_REPLICATION_FACTOR:"
                " no write with acks=all could ever succeed"
            )
        return self


class ServiceSettings(BaseSettings):
    """What every service process has. Subclasses set their own env prefix."""

    model_config = SettingsConfigDict(extra="ignore")

    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(ge=1, le=65535)
    metrics_port: int = Field(ge=0, le=65535)  # 0 disables the /metrics endpoint
    grpc_max_workers: int = Field(default=16, ge=1)
    # Calls running or waiting for a thread; more get RESOURCE_EXHAUSTED (503 at the gateway).
    grpc_max_concurrent_rpcs: int = Field(default=64, ge=1)
    grace_period_s: float = Field(default=10.0, gt=0)
    log_level: str = "INFO"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)

    @model_validator(mode="after")
    def _concurrency_covers_the_threads(self) -> Self:
        if self.grpc_max_concurrent_rpcs < self.grpc_max_workers:
            raise ValueError("GRPC_MAX_CONCURRENT_RPCS must be at least GRPC_MAX_WORKERS")
        return self
