"""docs/examples/webhook_receiver.py, run as a reader would, against the real webhook sender."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.alert.alerts import Alert
from services.alert.notification.notifier import DeliveryOutcome
from services.alert.notification.webhook import WebhookDestination
from tests.unit.alert.conftest import make_alert

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "webhook_receiver.py"
SECRET = b"example-receiver-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def receiver_url() -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "CAREPULSE_WEBHOOK_SECRET": SECRET.decode()}
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--port", str(port)], env=env, stdout=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}/hook"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _alert() -> Alert:
    return make_alert("a-1")


def test_example_receiver_accepts_what_carepulse_signs(receiver_url: str) -> None:
    with httpx.Client() as http:
        result = WebhookDestination(receiver_url, SECRET, http).deliver(7, _alert())

    assert result.outcome is DeliveryOutcome.DELIVERED


def test_example_receiver_refuses_a_wrong_secret_and_a_replay_under_another_key(
    receiver_url: str,
) -> None:
    with httpx.Client() as http:
        forged = WebhookDestination(receiver_url, b"not-the-secret", http).deliver(7, _alert())

        captured: dict[str, httpx.Request] = {}

        def keep(request: httpx.Request) -> None:
            captured["request"] = request

        with httpx.Client(event_hooks={"request": [keep]}) as recording:
            WebhookDestination(receiver_url, SECRET, recording).deliver(8, _alert())
        signed = captured["request"]
        replayed_headers = httpx.Headers(signed.headers)
        replayed_headers["Idempotency-Key"] = "9"
        replay = http.post(receiver_url, content=signed.content, headers=replayed_headers)

    assert forged.outcome is DeliveryOutcome.REJECTED
    assert replay.status_code == 401
