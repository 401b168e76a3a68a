"""What the tests read from Prometheus' and Zipkin's HTTP APIs, and how they wait for it."""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
Span = dict[str, Any]  # a Zipkin v2 span


def eventually(check: Callable[[], T | None], timeout_s: float = 60, what: str = "") -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s}s: {what}")
        time.sleep(1)


def promql(prometheus: str, expr: str) -> list[dict[str, Any]]:
    """The instant query's result now."""
    reply = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    reply.raise_for_status()
    result: list[dict[str, Any]] = reply.json()["data"]["result"]
    return result


def promql_range(prometheus: str, expr: str, start: float, step_s: float = 2) -> list[Any]:
    """The series the query returns at any step from `start` until now, as a panel shows them."""
    reply = httpx.get(
        f"{prometheus}/api/v1/query_range",
        params={"query": expr, "start": start, "end": time.time(), "step": step_s},
        timeout=30,
    )
    reply.raise_for_status()
    result: list[Any] = reply.json()["data"]["result"]
    return result


def exemplar_trace_ids(prometheus: str, selector: str, lookback_s: float = 900) -> list[str]:
    now = time.time()
    reply = httpx.get(
        f"{prometheus}/api/v1/query_exemplars",
        params={"query": selector, "start": now - lookback_s, "end": now},
        timeout=10,
    )
    reply.raise_for_status()
    return [
        exemplar["labels"]["trace_id"]
        for series in reply.json()["data"]
        for exemplar in series["exemplars"]
        if "trace_id" in exemplar["labels"]
    ]


def zipkin_trace(zipkin: str, trace_id: str) -> list[Span]:
    """Every span of a trace; empty while Zipkin does not know it."""
    reply = httpx.get(f"{zipkin}/api/v2/trace/{trace_id}", timeout=10)
    if reply.status_code == 404:
        return []
    reply.raise_for_status()
    spans: list[Span] = reply.json()
    return spans


def zipkin_spans(zipkin: str, since_s: float, **search: str) -> list[Span]:
    """Every span of the traces that match the search (serviceName, spanName, annotationQuery)
    and have a span that began after `since_s` (epoch seconds)."""
    now = time.time()
    params: dict[str, str | int] = {
        "endTs": int(now * 1000) + 1000,
        "lookback": int((now - since_s) * 1000) + 2000,
        "limit": 100_000,
        **search,
    }
    reply = httpx.get(f"{zipkin}/api/v2/traces", params=params, timeout=60)
    reply.raise_for_status()
    return [span for trace in reply.json() for span in trace]


def service(span: Span) -> str:
    name: str = span["localEndpoint"]["serviceName"]
    return name


@dataclass(frozen=True)
class SpanLink:
    trace_id: str
    span_id: str
    attributes: dict[str, Any]


def span_links(span: Span) -> list[SpanLink]:
    """The OpenTelemetry links of a span, which the collector's Zipkin exporter writes as tags
    `otlp.link.<i>` = "<trace id>|<span id>|<trace state>|<attributes as JSON>|<dropped>"."""
    links = []
    for key, value in span.get("tags", {}).items():
        if not key.startswith("otlp.link."):
            continue
        trace_id, span_id, rest = value.split("|", 2)
        attributes = rest.split("|", 1)[1].rsplit("|", 1)[0]
        links.append(SpanLink(trace_id, span_id, json.loads(attributes) if attributes else {}))
    return links
