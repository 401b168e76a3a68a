"""The gateway's configuration, read from the environment; bad values stop the process at start."""

import re
from typing import Annotated, Any, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gateway.keyring import ApiKey, Role, sha256_hex
from gateway.models.limits import MAX_BATCH_MESSAGES

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class GatewaySettings(BaseSettings):
    """Env prefix `GATEWAY_`, except the two plaintext developer keys `CAREPULSE_*_KEY`."""

    # Errors never echo input values: they would print the plaintext keys.
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = "INFO"

    ingest_addr: str = "127.0.0.1:50051"
    classify_addr: str = "127.0.0.1:50052"
    recommend_addr: str = "127.0.0.1:50053"
    alert_addr: str = "127.0.0.1:50054"

    # Deadlines of one call to each upstream. Classify gets more: `explain` reruns the model
    # once per word piece (occlusion).
    ingest_deadline_s: float = Field(default=2.0, gt=0)
    classify_deadline_s: float = Field(default=5.0, gt=0)
    recommend_deadline_s: float = Field(default=2.0, gt=0)
    alert_deadline_s: float = Field(default=2.0, gt=0)
    health_deadline_s: float = Field(default=1.0, gt=0)

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # A body not received within this many seconds (a slow or stalled upload) gets 408.
    body_timeout_s: float = Field(default=30.0, gt=0)
    # Requests in flight per route group (gateway/route_budgets.py); more get 503 at once.
    max_concurrent_chat: int = Field(default=16, ge=1)
    max_concurrent_messages: int = Field(default=8, ge=1)
    max_concurrent_feedback: int = Field(default=4, ge=1)
    max_concurrent_alerts: int = Field(default=6, ge=1)
    max_concurrent_operations: int = Field(default=4, ge=1)  # /readyz, /metrics, /docs
    max_batch_messages: int = Field(default=MAX_BATCH_MESSAGES, ge=1, le=MAX_BATCH_MESSAGES)

    client_rate_per_s: float = Field(default=20.0, gt=0)
    client_burst: int = Field(default=40, ge=1)
    operator_rate_per_s: float = Field(default=5.0, gt=0)
    operator_burst: int = Field(default=20, ge=1)

    # Comment lines on idle alert streams keep proxies from closing them as dead.
    sse_heartbeat_s: float = Field(default=15.0, gt=0)
    # Streams end after this long; clients reconnect with Last-Event-ID, which also spreads
    # them over gateway replicas.
    alert_stream_lifetime_s: float = Field(default=3600.0, gt=0)
    # Each open alert stream holds a thread reading its gRPC stream; these bound them, per
    # gateway instance and per API key (the alert service bounds them again on its side).
    max_alert_streams: int = Field(default=100, ge=1)
    max_alert_streams_per_key: int = Field(default=4, ge=1)
    # How long SIGTERM waits for in-flight requests before cancelling them.
    grace_period_s: float = Field(default=10.0, gt=0)

    # Browser origins allowed by CORS; empty (the default) sends no CORS headers at all.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()

    # Where the console links out to (gateway/console): a trace UI's page of one trace, with
    # `{trace_id}` in it (Zipkin: http://host:9411/zipkin/traces/{trace_id}), and Grafana's base
    # URL. Unset: no such links.
    console_trace_url: str | None = None
    console_grafana_url: str | None = None

    # `role:name:sha256hex`, comma-separated: what a Kubernetes Secret holds.
    api_key_hashes: Annotated[tuple[ApiKey, ...], NoDecode] = ()
    # Plaintext keys as a developer exports them; hashed while the settings are read, so
    # only their digests stay in memory.
    client_key_sha256: str | None = Field(
        default=None, validation_alias="CAREPULSE_CLIENT_KEY", repr=False
    )
    operator_key_sha256: str | None = Field(
        default=None, validation_alias="CAREPULSE_OPERATOR_KEY", repr=False
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    @field_validator("console_trace_url", "console_grafana_url")
    @classmethod
    def _require_web_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value or None

    @field_validator("console_trace_url")
    @classmethod
    def _require_trace_id_slot(cls, value: str | None) -> str | None:
        if value and "{trace_id}" not in value:
            raise ValueError("must contain {trace_id}, where the trace's id goes")
        return value

    @field_validator("api_key_hashes", mode="before")
    @classmethod
    def _parse_key_hashes(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return tuple(_parse_key_hash(entry.strip()) for entry in value.split(",") if entry.strip())

    @field_validator("client_key_sha256", "operator_key_sha256", mode="before")
    @classmethod
    def _hash_plaintext_key(cls, value: Any) -> Any:
        if isinstance(value, str):
            return sha256_hex(value) if value else None
        return value

    @model_validator(mode="after")
    def _require_keys(self) -> Self:
        if not self.api_keys():
            raise ValueError(
                "no API keys configured: set CAREPULSE_CLIENT_KEY and/or CAREPULSE_OPERATOR_KEY,"
                " or GATEWAY_API_KEY_HASHES=role:name:sha256hex,..."
            )
        hashes = [key.sha256 for key in self.api_keys()]
        if len(hashes) != len(set(hashes)):
            raise ValueError("the same API key is configured twice; each key needs one role")
        return self

    def api_keys(self) -> tuple[ApiKey, ...]:
        """Every configured key; a plaintext one is named by its role and hash fingerprint."""
        keys = list(self.api_key_hashes)
        if self.client_key_sha256:
            keys.append(_plaintext_key(Role.CLIENT, self.client_key_sha256))
        if self.operator_key_sha256:
            keys.append(_plaintext_key(Role.OPERATOR, self.operator_key_sha256))
        return tuple(keys)


def _plaintext_key(role: Role, digest: str) -> ApiKey:
    # The name is what acknowledgements record: a fingerprint tells two deployments' keys (and
    # a rotated key) apart, where a bare "operator" would make every acknowledger the same.
    return ApiKey(role, f"{role.value}-{digest[:8]}", digest)


def _parse_key_hash(entry: str) -> ApiKey:
    role, _, rest = entry.partition(":")
    name, _, digest = rest.partition(":")
    if role not in {r.value for r in Role}:
        raise ValueError(f"API key hash {name or entry!r}: role must be client or operator")
    if not name:
        raise ValueError("API key hash: expected role:name:sha256hex, the name is empty")
    if not _SHA256_HEX.fullmatch(digest.lower()):
        raise ValueError(f"API key hash {name!r}: expected 64 hex digits of SHA-256")
    return ApiKey(Role(role), name, digest.lower())
