"""The real backends (local/observability) beside a real stack exporting to them."""

import hashlib
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.observability import ObservabilityBackends, ObservabilityPorts
from local.run_record import check_ports_free
from local.stack import Stack, StackPorts
from tests.observability.observed_stack import ObservedStack
from tests.observability.traffic import DELIVERY_TIMEOUT_S, Traffic, drive_traffic

# 200 above tests/integration's stack (same variable, same default), which may run in the same
# session.
PORT_OFFSET = int(os.environ.get("CAREPULSE_TEST_PORT_OFFSET", "11000")) + 200


@pytest.fixture(scope="session")
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening, held for the session."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture(scope="session")
def observed(
    tmp_path_factory: pytest.TempPathFactory, refused_port: int
) -> Iterator[ObservedStack]:
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
    operator_key = f"test_operator_{secrets.token_urlsafe(8)}"
    probe_key = f"test_probe_{secrets.token_urlsafe(8)}"
    probe_hash = hashlib.sha256(probe_key.encode()).hexdigest()
    env = {
        "CAREPULSE_CLIENT_KEY": client_key,
        "CAREPULSE_OPERATOR_KEY": operator_key,
        "GATEWAY_API_KEY_HASHES": f"client:rate-limit-probe:{probe_hash}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": backends.otlp_endpoint,
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export spans within a fraction of a second
        "OTEL_BLRP_SCHEDULE_DELAY": "200",  # and log records
        "ALERT_BUCKET_SECONDS": "2",
        # The traffic pauses the broker past it to make a record fail (traffic.py).
        "KAFKA_DELIVERY_TIMEOUT_S": str(DELIVERY_TIMEOUT_S),
        # Every alert goes to the real Alertmanager, and to a webhook that refuses connections:
        # two quick failed attempts dead-letter the notification.
        "ALERT_ALERTMANAGER_URL": f"http://127.0.0.1:{backends.ports.alertmanager}",
        "ALERT_WEBHOOK_URLS": f"http://127.0.0.1:{refused_port}/carepulse",
        "ALERT_WEBHOOK_SECRET": secrets.token_urlsafe(16),
        "ALERT_WEBHOOK_MAX_ATTEMPTS": "2",
        "ALERT_WEBHOOK_INITIAL_BACKOFF_SECONDS": "0.2",
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
    yield ObservedStack(stack, backends, client_key, operator_key, probe_key)
    stack.stop()
    backends.stop()
    if os.environ.get("CAREPULSE_KEEP_LOGS"):
        _print_logs(root)


@pytest.fixture(scope="session")
def traffic(observed: ObservedStack) -> Traffic:
    """Everything the dashboards and rules show, driven once for the session."""
    return drive_traffic(observed)


def _print_logs(root: Path) -> None:
    for log in sorted(root.rglob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-30:]
        print(f"--- {log.name} (last {len(lines)} lines)\n" + "\n".join(lines))
