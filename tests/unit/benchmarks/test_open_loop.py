"""The open-loop sender keeps its schedule whatever the answers do, and times from it."""

import asyncio
import itertools

import httpx

from benchmarks.system.open_loop import Outcome, constant_rate

ANSWER_S = 0.3


def _run(handler: httpx.AsyncBaseTransport, rate: float, duration: float) -> list[Outcome]:
    async def go() -> list[Outcome]:
        async with httpx.AsyncClient(base_url="http://test", transport=handler) as client:
            return await constant_rate(client, rate, duration, lambda i: ("/v1/chat", {"i": i}))

    return asyncio.run(go())


def test_requests_leave_on_schedule_while_earlier_answers_are_still_pending() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(ANSWER_S)
        return httpx.Response(200, json={})

    outcomes = _run(httpx.MockTransport(slow), rate=20, duration=0.5)

    assert len(outcomes) == 10
    gaps = [later.due - earlier.due for earlier, later in itertools.pairwise(outcomes)]
    assert all(abs(gap - 0.05) < 1e-6 for gap in gaps)
    # A closed loop would have waited ANSWER_S for each answer before sending the next.
    assert max(o.send_lag_s for o in outcomes) < ANSWER_S / 2
    assert all(o.latency_s >= ANSWER_S and o.status == 200 for o in outcomes)


def test_a_request_without_an_answer_is_status_zero() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    outcomes = _run(httpx.MockTransport(refuse), rate=10, duration=0.2)

    assert [o.status for o in outcomes] == [0, 0]
