"""One real CarePulse stack per test session: Kafka broker + services as processes."""

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.stack import Stack, StackPorts

# Far from the `make run` ports, so the tests run beside a running system.
PORT_OFFSET = 1000


@pytest.fixture(scope="session")
def keys() -> dict[str, str]:
    return {
        "CAREPULSE_CLIENT_KEY": f"test_client_{secrets.token_urlsafe(8)}",
        "CAREPULSE_OPERATOR_KEY": f"test_operator_{secrets.token_urlsafe(8)}",
    }


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, str]) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    env = {
        **keys,
        # Short buckets so a spike shows within seconds instead of minutes.
        "ALERT_BUCKET_SECONDS": "2",
    }
    stack = Stack(
        root / "data",
        StackPorts.shifted(PORT_OFFSET),
        env=env,
        log_dir=root / "logs",
        traces_dir=root / "traces",
    )
    try:
        stack.start(timeout_s=300)
    except Exception:
        _print_logs(root / "logs")
        stack.stop()
        raise
    yield stack
    stack.stop()


def _print_logs(log_dir: Path) -> None:
    for log in sorted(log_dir.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-40:]
        print(f"--- {log.name} (last {len(lines)} lines)\n" + "\n".join(lines))


@pytest.fixture
def client_api(stack: Stack, keys: dict[str, str]) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": keys["CAREPULSE_CLIENT_KEY"]}
    with httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def operator_api(stack: Stack, keys: dict[str, str]) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": keys["CAREPULSE_OPERATOR_KEY"]}
    with httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def unique() -> str:
    """A fresh suffix, so tests sharing the session's stack never see each other's data."""
    return uuid.uuid4().hex[:10]
