"""Fixtures shared by the suites that run a real stack (tests/integration, tests/browser).

Each of those packages defines its own `stack` fixture (its ports and settings); the API
clients here call whichever `stack` the requesting test's package provides.
"""

import secrets
from collections.abc import Iterator

import httpx
import pytest

from local.stack import Stack


@pytest.fixture(scope="session")
def keys() -> dict[str, str]:
    return {
        "CAREPULSE_CLIENT_KEY": f"test_client_{secrets.token_urlsafe(8)}",
        "CAREPULSE_OPERATOR_KEY": f"test_operator_{secrets.token_urlsafe(8)}",
        "CAREPULSE_PSEUDONYM_KEY": f"test_pseudonyms_{secrets.token_urlsafe(16)}",
    }


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
