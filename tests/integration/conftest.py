"""One real CarePulse stack per test session: Kafka broker + services as processes."""

import os
import secrets
import uuid
from collections.abc import Iterator

import httpx
import pytest

from gateway.keyring import sha256_hex
from local.postgres import PostgresNotInstalled, PostgresServer, running_postgres
from local.stack import Stack, StackPorts, running_stack

# Far from the `make run` ports, so the tests run beside a running system, and far enough
# that the gRPC ports (50051 + offset) land above Linux's ephemeral range (32768-60999):
# there an outgoing connection can hold the port at any moment. Another value lets a second
# test run share the machine.
PORT_OFFSET = int(os.environ.get("CAREPULSE_TEST_PORT_OFFSET", "11000"))


@pytest.fixture(scope="session")
def second_client_key() -> str:
    """Another client's key, configured by hash as a deployment does."""
    return f"test_client2_{secrets.token_urlsafe(8)}"


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, keys: dict[str, str], second_client_key: str
) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    env = {
        **keys,
        "GATEWAY_API_KEY_HASHES": f"client:second-client:{sha256_hex(second_client_key)}",
        # Short buckets so a spike shows within seconds instead of minutes.
        "ALERT_BUCKET_SECONDS": "2",
    }
    with running_stack(root, StackPorts.shifted(PORT_OFFSET), env) as stack:
        yield stack


@pytest.fixture
def second_client_api(stack: Stack, second_client_key: str) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": second_client_key}
    with httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def unique() -> str:
    """A fresh suffix, so tests sharing the session's stack never see each other's data."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One real PostgreSQL (Debian's server binaries) for every test that needs one."""
    try:
        with running_postgres(tmp_path_factory.mktemp("postgres")) as server:
            yield server
    except PostgresNotInstalled as error:
        pytest.fail(str(error), pytrace=False)  # a failure that says how, never a skip


@pytest.fixture
def database_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on that server."""
    return postgres.create_database()
