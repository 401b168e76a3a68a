"""A slow dependency fills its own route group's budget, never the threads of the others."""

import asyncio
import threading
import time

from starlette.types import Message, Receive, Scope, Send

from gateway.body_limit import BodySizeLimit
from tests.unit.gateway.api_testing import AS_CLIENT, AS_OPERATOR, MakeClient, is_problem
from tests.unit.gateway.fake_upstreams import FakeUpstreams

CHAT = {"conversation_id": "c", "customer_id": "u", "text": "where is my card?"}


def test_chats_beyond_their_budget_get_503_while_alerts_still_answer(
    make_client: MakeClient, fakes: FakeUpstreams
) -> None:
    fakes.classify.delay_s = 1.5  # a slow model: every chat waits on it
    client = make_client(max_concurrent_chat=2)
    statuses: list[int] = []
    lock = threading.Lock()

    def chat() -> None:
        status = client.post("/v1/chat", json=CHAT, headers=AS_CLIENT).status_code
        with lock:
            statuses.append(status)

    chats = [threading.Thread(target=chat) for _ in range(6)]
    for thread in chats:
        thread.start()
    alerts = client.get("/v1/alerts", headers=AS_OPERATOR)
    for thread in chats:
        thread.join(timeout=30)

    assert alerts.status_code == 200
    assert sorted(statuses) == [200, 200, 503, 503, 503, 503]


def test_the_budget_frees_up_when_requests_finish(
    make_client: MakeClient, fakes: FakeUpstreams
) -> None:
    client = make_client(max_concurrent_chat=1)

    for _ in range(3):
        assert client.post("/v1/chat", json=CHAT, headers=AS_CLIENT).status_code == 200


def test_refused_request_is_a_problem_with_retry_after(
    make_client: MakeClient, fakes: FakeUpstreams
) -> None:
    fakes.classify.delay_s = 1.0
    client = make_client(max_concurrent_chat=1)
    first = threading.Thread(target=lambda: client.post("/v1/chat", json=CHAT, headers=AS_CLIENT))
    first.start()
    try:
        deadline = time.monotonic() + 5
        while not fakes.classify.requests and time.monotonic() < deadline:
            time.sleep(0.01)  # until the first chat holds the budget, waiting on classify
        refused = client.post("/v1/chat", json=CHAT, headers=AS_CLIENT)
    finally:
        first.join(timeout=30)

    assert is_problem(refused, 503)
    assert refused.headers["retry-after"] == "1"


def test_a_body_that_trickles_in_too_slowly_is_408() -> None:
    reached: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(True)

    async def trickle() -> Message:
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b"x", "more_body": True}  # never the last

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/v1/messages", "headers": [], "method": "POST"}
    asyncio.run(BodySizeLimit(app, max_bytes=1_000_000, timeout_s=0.3)(scope, trickle, send))

    assert sent[0]["status"] == 408
    assert reached == [], "the route never sees a body that did not arrive"
