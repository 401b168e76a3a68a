"""The streams attack measures the gateway's stream caps, not the keys' rate limits
(reliability/abuse/hostile.py)."""

from __future__ import annotations

import httpx

from reliability.abuse import hostile
from reliability.abuse.hostile import Attacks
from reliability.abuse.target import Target

_RATE_LIMITED = {"type": "urn:carepulse:problem:rate-limited", "status": 429}
_TOO_MANY_STREAMS = {"type": "urn:carepulse:problem:too-many-streams", "status": 429}


def test_a_rate_limit_refusal_is_told_from_a_cap_refusal() -> None:
    assert hostile._is_rate_limited(httpx.Response(429, json=_RATE_LIMITED))
    assert not hostile._is_rate_limited(httpx.Response(429, json=_TOO_MANY_STREAMS))
    assert not hostile._is_rate_limited(httpx.Response(429, text="not json"))
    assert not hostile._is_rate_limited(httpx.Response(200, json=_RATE_LIMITED))


def test_the_attack_waits_for_an_operator_burst_to_refill() -> None:
    # The gateway's defaults (5 requests/s, a burst of 20) unless the target says otherwise:
    # the earlier attacks may have used the burst up, and a rate-limited stream or unary call
    # says nothing about the caps.
    defaults = Attacks(Target(url="http://127.0.0.1:9", client_key="c", operator_key="o"))
    assert defaults._operator_refill_s() == 4.0
    settings = {"GATEWAY_OPERATOR_RATE_PER_S": "10", "GATEWAY_OPERATOR_BURST": "5"}
    configured = Target("http://127.0.0.1:9", "c", "o", settings=settings)
    assert Attacks(configured)._operator_refill_s() == 0.5
