"""The real gateway app over real gRPC, with the services behind it faked in-process."""

import os
import socket
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.upstreams import Upstreams
from tests.unit.gateway.api_testing import CLIENT_KEY, OPERATOR_KEY, MakeClient
from tests.unit.gateway.fake_upstreams import FakeUpstreams, start_fake_upstreams


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from each test alone, not from a developer's shell."""
    developer_keys = {"CAREPULSE_CLIENT_KEY", "CAREPULSE_OPERATOR_KEY"}
    for name in list(os.environ):
        if name.startswith("GATEWAY_") or name in developer_keys:
            monkeypatch.delenv(name)


@pytest.fixture
def fakes() -> Iterator[FakeUpstreams]:
    upstreams = start_fake_upstreams()
    yield upstreams
    upstreams.server.stop(grace=None)


@pytest.fixture
def dead_address() -> str:
    """A local port nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"127.0.0.1:{port}"


@pytest.fixture
def make_client(fakes: FakeUpstreams) -> Iterator[MakeClient]:
    """Builds a started app; keyword arguments override settings, `<name>_address` upstreams."""
    opened: list[tuple[TestClient, Upstreams]] = []

    def make(
        ingest_address: str | None = None,
        classify_address: str | None = None,
        alert_address: str | None = None,
        **overrides: Any,
    ) -> TestClient:
        settings = GatewaySettings(
            CAREPULSE_CLIENT_KEY=CLIENT_KEY,
            CAREPULSE_OPERATOR_KEY=OPERATOR_KEY,
            **overrides,
        )
        alert_target = alert_address or fakes.address
        upstreams = Upstreams(
            ingest=grpc.insecure_channel(ingest_address or fakes.address),
            classify=grpc.insecure_channel(classify_address or fakes.address),
            recommend=grpc.insecure_channel(fakes.address),
            alert=grpc.insecure_channel(alert_target),
            alert_stream_channel=lambda: grpc.insecure_channel(alert_target),
        )
        client = TestClient(create_app(settings, upstreams))
        client.__enter__()
        opened.append((client, upstreams))
        return client

    yield make
    for client, upstreams in opened:
        client.__exit__(None, None, None)
        upstreams.close()


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()
