"""The load test's scenarios send what the gateway serves: its routes, its request bodies."""

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway.app import create_app
from gateway.models.alerts import AcknowledgeRequest
from gateway.models.chat import ChatRequest
from gateway.models.feedback import FeedbackRequest
from gateway.models.messages import MessageBatch
from gateway.settings import GatewaySettings
from gateway.sse import comment, event
from gateway.upstreams import Upstreams
from loadtests import api

REPO_ROOT = Path(__file__).resolve().parents[3]
LOADTEST_PYTHON = REPO_ROOT / ".venv-loadtest" / "bin" / "python"


@pytest.fixture
def openapi_paths() -> Iterator[dict[str, Any]]:
    """The gateway's OpenAPI document, from the app as built; nothing is started or called."""
    channel = grpc.insecure_channel("127.0.0.1:9")  # never used: no request is made
    upstreams = Upstreams(
        ingest=channel,
        classify=channel,
        recommend=channel,
        alert=channel,
        alert_stream_channel=lambda: channel,
    )
    settings = GatewaySettings(CAREPULSE_CLIENT_KEY="client", CAREPULSE_OPERATOR_KEY="operator")
    yield create_app(settings, upstreams).openapi()["paths"]
    upstreams.close()


def test_every_route_the_scenarios_call_is_in_the_gateways_openapi(
    openapi_paths: dict[str, Any],
) -> None:
    for method, path in api.ROUTES:
        assert method.lower() in openapi_paths.get(path, {}), f"{method} {path}"


def test_every_body_the_scenarios_send_is_valid_for_the_gateway() -> None:
    ChatRequest.model_validate(api.chat_body("conversation-1", "customer-1", "Card declined"))
    FeedbackRequest.model_validate(api.feedback_body("message-1", "customer-1", "kb-1", True))
    AcknowledgeRequest.model_validate(api.acknowledge_body("seen"))
    MessageBatch.model_validate(api.feed_batch(list(api.STORM_POSTS), run="r1", first=0))


def test_consecutive_feed_batches_never_repeat_an_external_id() -> None:
    first = api.feed_batch(["a", "b"], run="r1", first=0)["messages"]
    second = api.feed_batch(["c", "d"], run="r1", first=2)["messages"]

    ids = [m["external_id"] for m in first + second]
    assert len(set(ids)) == 4


def test_operators_read_the_events_the_gateway_writes_and_skip_heartbeats() -> None:
    wire = (
        comment("heartbeat")
        + event('{"sequence": 7, "alert": {"state": "firing"}}', event_id="7", name="alert")
        + comment("heartbeat")
        + event('{"sequence": 8}', event_id="8", name="alert")
    )

    events = list(api.server_sent_events(wire.splitlines()))

    assert [(e.id, e.name) for e in events] == [("7", "alert"), ("8", "alert")]
    assert events[0].data == {"sequence": 7, "alert": {"state": "firing"}}


def test_customers_never_send_the_same_text_twice(tmp_path: Path) -> None:
    source = tmp_path / "messages.csv"
    source.write_text("text,category\nWhere is my card?,card_arrival\nPIN blocked,pin_blocked\n")
    texts = api.Texts(source)

    sent = [texts.next() for _ in range(5)]

    assert len(set(sent)) == 5
    assert sent[:2] == ["Where is my card?", "PIN blocked"]


def test_the_locustfile_imports_with_its_users_and_load_shape() -> None:
    found = subprocess.run(
        [
            str(LOADTEST_PYTHON),
            "-c",
            "from locust import User, LoadTestShape\n"
            "import loadtests.locustfile as f\n"
            "print(sorted(n for n, v in vars(f).items() if isinstance(v, type)"
            " and issubclass(v, (User, LoadTestShape)) and v.__module__ == f.__name__))",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert (
        found.stdout.split("\n")[-2] == "['Customer', 'Operator', 'RampToSaturation', 'SocialFeed']"
    )
