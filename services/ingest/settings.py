"""Ingest service configuration; env prefix `INGEST_`."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    grpc_port: int = 50051
    metrics_port: int = 9101
    max_text_chars: int = Field(default=4000, ge=1)
    max_batch_messages: int = Field(default=500, ge=1)
    dedup_window_s: float = Field(default=24 * 3600, gt=0)
    dedup_max_entries: int = Field(default=200_000, ge=1)
