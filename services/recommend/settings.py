"""Recommend service configuration; env prefix `RECOMMEND_` (and DATABASE_URL)."""

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from servicekit.cache import user_cache_dir
from servicekit.settings import ServiceSettings
from services.recommend.knowledge_base import DEFAULT_KNOWLEDGE_BASE


class RecommendSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RECOMMEND_", extra="ignore")

    grpc_port: int = 50053
    metrics_port: int = 9103
    knowledge_base: Path = DEFAULT_KNOWLEDGE_BASE
    # Classify embeds the knowledge base with the encoder it serves (recommend holds none).
    classify_addr: str = "127.0.0.1:50052"
    # Texts per Embed call: at most classify's CLASSIFY_MAX_TEXTS_PER_REQUEST.
    embed_batch_size: int = Field(default=64, ge=1)
    embed_deadline_s: float = Field(default=30.0, gt=0)
    # The knowledge base's vectors by (encoder, texts); in Kubernetes an emptyDir.
    vector_cache_dir: Path = Field(default_factory=lambda: user_cache_dir() / "recommend-vectors")
    # A vector from another encoder asks classify again, at most this often.
    refresh_min_interval_s: float = Field(default=10.0, ge=0)
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "RECOMMEND_DATABASE_URL")
    )
    sqlite_path: Path = Path(".data/recommend.db")
    default_top_k: int = Field(default=3, ge=1)
    max_top_k: int = Field(default=10, ge=1)
    # Served suggestions and raw votes older than this are deleted (hourly); feedback on
    # them is refused from then on. The learned posteriors and rejections are kept.
    feedback_retention_days: float = Field(default=90, gt=0)
    retention_interval_s: float = Field(default=3600, gt=0)
