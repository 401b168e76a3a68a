"""Alert service configuration; env prefix `ALERT_`, plus the shared `DATABASE_URL`."""

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from servicekit.settings import ServiceSettings
from services.alert.detection.incidents import IncidentRules
from services.alert.detection.negative_share import NegativeShareConfig
from services.alert.detection.series_monitor import MonitorConfig
from services.alert.detection.topic_attribution import TopicAttribution
from services.alert.detection.volume import VolumeConfig

REPO_ROOT = Path(__file__).resolve().parents[2]


class AlertSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ALERT_", extra="ignore")

    grpc_port: int = 50054
    metrics_port: int = 9104
    consumer_group: str = "alert"

    # PostgreSQL when DATABASE_URL is set (as in Kubernetes); a local SQLite file otherwise.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    sqlite_path: Path = REPO_ROOT / ".data" / "alert.db"

    bucket_seconds: int = Field(default=60, ge=1)
    # How long after its end a bucket still accepts messages; unset = one bucket.
    allowed_lateness_seconds: int | None = Field(default=None, ge=0)
    # After a restart, buckets stay open this long so the consumer's backlog lands in them
    # rather than behind them (a killed member's partitions move on within ~10 s).
    startup_hold_seconds: float = Field(default=10.0, ge=0)
    tick_interval_seconds: float = Field(default=0.5, gt=0)
    # Outbox relay and alert streams are woken on commit; these polls are only a fallback.
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    stream_poll_seconds: float = Field(default=1.0, gt=0)
    # How long each closed bucket's counts and verdict are kept to chart an alert's evidence.
    bucket_history_hours: float = Field(default=48.0, gt=0)
    # Concurrent StreamAlerts calls; must leave gRPC threads for unary calls (see below).
    max_streams: int = Field(default=8, ge=1)
    # Longer than Kafka keeps messages.classified (7 days): older records cannot come back.
    processed_ids_retention_seconds: int = Field(default=8 * 24 * 3600, ge=3600)

    # A message whose intent confidence is below this counts in no topic's series
    # (services/alert/detection/topic_attribution.py).
    min_intent_confidence: float = Field(default=TopicAttribution.min_intent_confidence, ge=0, lt=1)

    # Negative-share spikes; unset fields keep the detector's defaults
    # (services/alert/detection/negative_share.py, incidents.py).
    spike_min_negatives: int = Field(default=NegativeShareConfig.min_negatives, ge=1)
    spike_threshold: float = Field(default=NegativeShareConfig.threshold, gt=0, le=1)
    spike_min_fold: float = Field(default=NegativeShareConfig.min_fold, ge=1)
    spike_cooldown_buckets: int = Field(default=IncidentRules.cooldown_buckets, ge=0)
    spike_resolve_after_buckets: int = Field(default=IncidentRules.resolve_after_buckets, ge=1)
    spike_sustained_buckets: int = Field(default=NegativeShareConfig.sustained_buckets, ge=0)
    spike_sustained_min_fold: float = Field(default=NegativeShareConfig.sustained_min_fold, ge=1)
    spike_sustained_min_negatives: int = Field(
        default=NegativeShareConfig.sustained_min_negatives, ge=1
    )

    # Volume surges (services/alert/detection/volume.py).
    volume_threshold: float = Field(default=VolumeConfig.threshold, gt=0, le=1)
    volume_min_messages: int = Field(default=VolumeConfig.min_count, ge=1)
    volume_min_fold: float = Field(default=VolumeConfig.min_fold, ge=1)
    volume_sustained_buckets: int = Field(default=VolumeConfig.sustained_buckets, ge=0)
    volume_warmup_buckets: int = Field(default=VolumeConfig.warmup_buckets, ge=0)
    volume_record_days: int = Field(default=VolumeConfig.record_days, ge=0)
    volume_cooldown_buckets: int = Field(default=IncidentRules.cooldown_buckets, ge=0)
    volume_resolve_after_buckets: int = Field(default=IncidentRules.resolve_after_buckets, ge=1)

    # Severity of a negative-share spike: critical when the score and the incident's negatives
    # both reach these (a score of 0.8 is a one-in-10^8 bucket). A volume surge is critical
    # when the negative messages surged with it.
    critical_score: float = Field(default=0.8, gt=0, le=1)
    critical_negatives: int = Field(default=50, ge=1)

    # Notifications beyond Kafka and SSE (docs/alerts.md). Webhooks: comma-separated URLs,
    # each event POSTed and signed with the secret.
    webhook_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_secret: SecretStr | None = None
    # Attempts per event and destination (webhooks and Alertmanager) before it is
    # dead-lettered; the wait doubles from the initial backoff between them.
    webhook_max_attempts: int = Field(default=5, ge=1, le=50)
    webhook_initial_backoff_seconds: float = Field(default=1.0, gt=0)
    webhook_max_backoff_seconds: float = Field(default=300.0, gt=0)
    notification_timeout_seconds: float = Field(default=5.0, gt=0)
    alertmanager_url: str | None = None  # e.g. http://alertmanager:9093
    alertmanager_repeat_seconds: float = Field(default=60.0, gt=0)
    # Where the generatorURL of Alertmanager alerts points: the gateway's alert list.
    alerts_url: str = "http://127.0.0.1:8080/v1/alerts"

    @field_validator("webhook_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError("each webhook URL must start with http:// or https://")
        return urls

    @model_validator(mode="after")
    def _streams_leave_threads_for_unary_calls(self) -> "AlertSettings":
        if self.max_streams >= self.grpc_max_workers:
            raise ValueError(
                "ALERT_MAX_STREAMS must be below ALERT_GRPC_MAX_WORKERS: open streams would"
                " hold every gRPC thread and starve ListAlerts, Acknowledge and health checks"
            )
        return self

    @model_validator(mode="after")
    def _webhooks_are_signed(self) -> "AlertSettings":
        if self.webhook_urls and not (
            self.webhook_secret and self.webhook_secret.get_secret_value()
        ):
            raise ValueError("ALERT_WEBHOOK_SECRET is required when ALERT_WEBHOOK_URLS is set")
        return self

    @property
    def monitor_config(self) -> MonitorConfig:
        return MonitorConfig(
            negative_share=NegativeShareConfig(
                min_negatives=self.spike_min_negatives,
                threshold=self.spike_threshold,
                min_fold=self.spike_min_fold,
                sustained_buckets=self.spike_sustained_buckets,
                sustained_min_fold=self.spike_sustained_min_fold,
                sustained_min_negatives=self.spike_sustained_min_negatives,
            ),
            negative_share_incidents=IncidentRules(
                cooldown_buckets=self.spike_cooldown_buckets,
                resolve_after_buckets=self.spike_resolve_after_buckets,
            ),
            volume=VolumeConfig(
                threshold=self.volume_threshold,
                min_count=self.volume_min_messages,
                min_fold=self.volume_min_fold,
                sustained_buckets=self.volume_sustained_buckets,
                warmup_buckets=self.volume_warmup_buckets,
                record_days=self.volume_record_days,
            ).for_bucket_width(self.bucket_width),
            volume_incidents=IncidentRules(
                cooldown_buckets=self.volume_cooldown_buckets,
                resolve_after_buckets=self.volume_resolve_after_buckets,
            ),
        )

    @property
    def topic_attribution(self) -> TopicAttribution:
        return TopicAttribution(min_intent_confidence=self.min_intent_confidence)

    @property
    def bucket_width(self) -> timedelta:
        return timedelta(seconds=self.bucket_seconds)

    @property
    def allowed_lateness(self) -> timedelta:
        if self.allowed_lateness_seconds is None:
            return self.bucket_width
        return timedelta(seconds=self.allowed_lateness_seconds)
