"""Typed settings shared by every service, read from the environment (fail fast on bad values)."""

from pydantic import Field
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
    delivery_timeout_s: float = Field(default=30.0, gt=0)


class ServiceSettings(BaseSettings):
    """What every service process has. Subclasses set their own env prefix."""

    model_config = SettingsConfigDict(extra="ignore")

    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(ge=1, le=65535)
    metrics_port: int = Field(ge=0, le=65535)  # 0 disables the /metrics endpoint
    grpc_max_workers: int = Field(default=16, ge=1)
    grace_period_s: float = Field(default=10.0, gt=0)
    log_level: str = "INFO"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
