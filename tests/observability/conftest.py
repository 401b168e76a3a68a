"""The real backends (local/observability) beside a real stack exporting to them."""

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.observability import ObservabilityBackends, ObservabilityPorts
from local.run_record import check_ports_free
from local.stack import Stack, StackPorts

# 200 above tests/integration's stack (same variable, same default), which may run in the same
# session.
PORT_OFFSET = int(os.environ.get("CAREPULSE_TEST_PORT_OFFSET", "11000")) + 200


@dataclass(frozen=True)
class ObservedStack:
    stack: Stack
    backends: ObservabilityBackends
    client_key: str

    @property
    def zipkin(self) -> str:
        return f"http://127.0.0.1:{self.backends.ports.zipkin}"

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.backends.ports.prometheus}"

    @property
    def alertmanager(self) -> str:
        return f"http://127.0.0.1:{self.backends.ports.alertmanager}"


@pytest.fixture(scope="session")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObservedStack]:
    root = tmp_path_factory.mktemp("observed")
    stack_ports = StackPorts.shifted(PORT_OFFSET)
    backends = ObservabilityBackends(
        root / "observability",
        ObservabilityPorts.shifted(PORT_OFFSET),
        stack_ports,
        scrape_interval_s=1,
    )
    if backends.missing:
        pytest.fail(f"not installed: {backends.missing}: run `make observability`", pytrace=False)
    check_ports_free({**stack_ports.named(), **backends.listening_ports()})
    assert backends.otlp_endpoint
    client_key = f"test_client_{secrets.token_urlsafe(8)}"
    env = {
        "CAREPULSE_CLIENT_KEY": client_key,
        "CAREPULSE_OPERATOR_KEY": f"test_operator_{secrets.token_urlsafe(8)}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": backends.otlp_endpoint,
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export spans within a fraction of a second
        "ALERT_BUCKET_SECONDS": "2",
    }
    stack = Stack(root / "data", stack_ports, env=env, log_dir=root / "logs")
    backends.start()
    try:
        stack.start(timeout_s=300)
        backends.wait_ready(timeout_s=180)
    except Exception:
        _print_logs(root)
        stack.stop()
        backends.stop()
        raise
    yield ObservedStack(stack, backends, client_key)
    stack.stop()
    backends.stop()
    if os.environ.get("CAREPULSE_KEEP_LOGS"):
        _print_logs(root)


def _print_logs(root: Path) -> None:
    for log in sorted(root.rglob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-30:]
        print(f"--- {log.name} (last {len(lines)} lines)\n" + "\n".join(lines))
