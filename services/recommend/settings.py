"""Recommend service configuration; env prefix `RECOMMEND_` (and DATABASE_URL)."""

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings
from services.recommend.knowledge_base import DEFAULT_KNOWLEDGE_BASE


class RecommendSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RECOMMEND_", extra="ignore")

    grpc_port: int = 50053
    metrics_port: int = 9103
    knowledge_base: Path = DEFAULT_KNOWLEDGE_BASE
    encoder_dir: Path | None = None  # default: the MiniLM files shipped in their wheel
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "RECOMMEND_DATABASE_URL")
    )
    sqlite_path: Path = Path(".data/recommend.db")
    default_top_k: int = Field(default=3, ge=1)
    max_top_k: int = Field(default=10, ge=1)
    max_text_chars: int = Field(default=4000, ge=1)
    # Served suggestions and raw votes older than this are deleted (hourly); feedback on
    # them is refused from then on. The learned posteriors and rejections are kept.
    feedback_retention_days: float = Field(default=90, gt=0)
    retention_interval_s: float = Field(default=3600, gt=0)
