"""`make run`'s choice of backends: what is installed starts, what is not is named."""

from pathlib import Path

import pytest

from local.observability import ObservabilityBackends, ObservabilityPorts
from local.stack import StackPorts


def test_a_missing_collector_is_named_and_services_get_no_otlp_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREPULSE_OTELCOL", str(tmp_path / "no-such-collector"))
    backends = ObservabilityBackends(tmp_path, ObservabilityPorts(), StackPorts())
    assert "collector" in backends.missing
    assert "collector" not in backends.backends
    assert backends.otlp_endpoint is None
    assert "otlp grpc" not in backends.listening_ports()


def test_every_backend_port_moves_with_the_stack_offset() -> None:
    base, shifted = ObservabilityPorts(), ObservabilityPorts.shifted(1000)
    assert all(getattr(shifted, f) == getattr(base, f) + 1000 for f in vars(base))
    # Alertmanager's usual 9093 is the local Kafka controller's port.
    assert 9093 not in vars(base).values()
    assert not set(vars(base).values()) & set(StackPorts().named().values())
