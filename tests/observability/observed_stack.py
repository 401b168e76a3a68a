"""A running stack and the observability backends it exports to, as the tests reach them."""

from dataclasses import dataclass
from pathlib import Path

from local.observability import ObservabilityBackends
from local.stack import Stack


@dataclass(frozen=True)
class ObservedStack:
    stack: Stack
    backends: ObservabilityBackends
    client_key: str
    operator_key: str
    # A second client key, only for exhausting its rate limit: the others' traffic keeps flowing.
    rate_limit_probe_key: str

    @property
    def zipkin(self) -> str:
        return f"http://127.0.0.1:{self.backends.ports.zipkin}"

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.backends.ports.prometheus}"

    @property
    def alertmanager(self) -> str:
        return f"http://127.0.0.1:{self.backends.ports.alertmanager}"

    def service_logs(self) -> list[Path]:
        """Every log file of the stack: Kafka's and each service's output."""
        assert self.stack.log_dir is not None
        return sorted(self.stack.log_dir.glob("*.log"))
