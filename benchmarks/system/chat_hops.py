"""Where one `POST /v1/chat` spent its time, read from the spans every process wrote.

The stack writes each finished span as a JSON line, one file per process (CAREPULSE_TRACES_FILE,
`local.stack.Stack.traces_dir`). A chat is one trace: the gateway's `POST /v1/chat` server span,
its three gRPC client spans (ingest, classify, recommend, called one after the other), and in
each service the gRPC server span that answered, with the service's own spans below it:

* ingest: `messages.raw send` (handing the record to the Kafka producer); the server then waits
  for the broker's acknowledgement (acks=all) before it answers.
* classify: the caller's `classify` span, linked to the `classify batch` span of the micro-batch
  that computed its text. Queue wait runs from the caller's span to the batch's start; forward
  is the batch span (encoder, heads, exemplar votes). A text classify had cached has no batch.
* recommend: `recommend rank`, the ranking of the knowledge base for the message.

Every hop is a difference of span times from one process's clock, except `*.network`: client
span minus server span, the time on the wire and in both gRPC stacks (same machine here).
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

Span = dict[str, Any]

CHAT_SPAN = "POST /v1/chat"
UPSTREAMS = {
    "ingest": "/carepulse.v1.IngestService/Ingest",
    "classify": "/carepulse.v1.ClassifyService/Classify",
    "recommend": "/carepulse.v1.RecommendService/Recommend",
}
TRACED_PROCESSES = ("gateway", *UPSTREAMS)

# Each chat's hops, in the order a request meets them. The gateway's own work and the three
# RPCs add up to `total`; each RPC is its network part plus its server's parts.
HOPS = (
    "total",
    "gateway.own",
    "gateway.before_upstreams",  # auth, rate limit, body parsing and validation
    "gateway.between_upstreams",  # reading one answer and building the next request
    "gateway.after_upstreams",  # the reply model, its JSON, sending it
    "ingest.rpc",
    "ingest.network",
    "ingest.server",
    "ingest.prepare",  # validation, PII redaction, normalization, de-duplication
    "ingest.kafka_send",  # the producer span: the record handed to the producer
    "ingest.kafka_ack",  # from then until the server answers: waiting for acks=all
    "classify.rpc",
    "classify.network",
    "classify.server",
    "classify.queue_wait",
    "classify.forward",
    "classify.rest",  # servicer, cache lookup, handing the answer back, the reply proto
    "recommend.rpc",
    "recommend.network",
    "recommend.server",
    "recommend.rank",
    "recommend.rest",  # the servicer around the ranking: reading the request, the reply
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class IncompleteTrace(LookupError):
    """A chat trace without one of the spans the hops are computed from."""


@dataclass(frozen=True)
class ChatHops:
    trace_id: str
    started_us: int  # the gateway server span's start, microseconds since the epoch
    cache_answered: bool  # classify answered from its cache: no queue wait, no forward
    batch_texts: int  # texts in the micro-batch that computed this chat's text (0 if cached)
    ms: dict[str, float]  # every hop of HOPS


def read_spans(traces_dir: Path, processes: Iterable[str] = TRACED_PROCESSES) -> list[Span]:
    """The spans of each process's `<name>.jsonl` (a missing file has none)."""
    spans: list[Span] = []
    for name in processes:
        path = traces_dir / f"{name}.jsonl"
        if path.exists():
            with path.open(encoding="utf-8") as file:
                spans.extend(json.loads(line) for line in file if line.strip())
    return spans


def chat_hops(spans: Iterable[Span]) -> tuple[list[ChatHops], int]:
    """Every answered chat's hops, oldest first, and how many chat traces were incomplete."""
    index = _Index(spans)
    chats: list[ChatHops] = []
    incomplete = 0
    for server in index.chats():
        try:
            chats.append(_hops(index, server))
        except IncompleteTrace:
            incomplete += 1
    return sorted(chats, key=lambda chat: chat.started_us), incomplete


class _Index:
    def __init__(self, spans: Iterable[Span]) -> None:
        self._by_id: dict[str, Span] = {}
        self._children: dict[str, list[Span]] = {}
        for span in spans:
            self._by_id[span["context"]["span_id"]] = span
            if span.get("parent_id"):
                self._children.setdefault(span["parent_id"], []).append(span)

    def chats(self) -> Iterator[Span]:
        """The gateway's server spans of chats it answered with 200."""
        for span in self._by_id.values():
            if (
                span["name"] == CHAT_SPAN
                and span["kind"] == "SpanKind.SERVER"
                and span["attributes"].get("http.status_code") == 200
            ):
                yield span

    def span(self, span_id: str) -> Span:
        if span_id not in self._by_id:
            raise IncompleteTrace(span_id)
        return self._by_id[span_id]

    def child(self, parent: Span, name: str, kind: str) -> Span:
        """The one child of `parent` with that name and kind."""
        found = [
            span
            for span in self._children.get(parent["context"]["span_id"], [])
            if span["name"] == name and span["kind"] == kind
        ]
        if len(found) != 1:
            raise IncompleteTrace(f"{len(found)} {name!r} under {parent['name']!r}")
        return found[0]


def _hops(index: _Index, chat: Span) -> ChatHops:
    clients = {
        name: index.child(chat, method, "SpanKind.CLIENT") for name, method in UPSTREAMS.items()
    }
    servers = {
        name: index.child(clients[name], method, "SpanKind.SERVER")
        for name, method in UPSTREAMS.items()
    }
    ingest, classify, recommend = clients["ingest"], clients["classify"], clients["recommend"]
    us: dict[str, int] = {
        "total": _duration(chat),
        "gateway.before_upstreams": _start(ingest) - _start(chat),
        "gateway.between_upstreams": (_start(classify) - _end(ingest))
        + (_start(recommend) - _end(classify)),
        "gateway.after_upstreams": _end(chat) - _end(recommend),
    }
    us["gateway.own"] = us["total"] - sum(_duration(client) for client in clients.values())
    for name in UPSTREAMS:
        us[f"{name}.rpc"] = _duration(clients[name])
        us[f"{name}.server"] = _duration(servers[name])
        us[f"{name}.network"] = us[f"{name}.rpc"] - us[f"{name}.server"]

    sent = index.child(servers["ingest"], "messages.raw send", "SpanKind.PRODUCER")
    us["ingest.prepare"] = _start(sent) - _start(servers["ingest"])
    us["ingest.kafka_send"] = _duration(sent)
    us["ingest.kafka_ack"] = _end(servers["ingest"]) - _end(sent)

    caller = index.child(servers["classify"], "classify", "SpanKind.INTERNAL")
    batch = index.span(caller["links"][0]["context"]["span_id"]) if caller["links"] else None
    us["classify.queue_wait"] = _start(batch) - _start(caller) if batch else 0
    us["classify.forward"] = _duration(batch) if batch else 0
    us["classify.rest"] = us["classify.server"] - us["classify.queue_wait"] - us["classify.forward"]

    rank = index.child(servers["recommend"], "recommend rank", "SpanKind.INTERNAL")
    us["recommend.rank"] = _duration(rank)
    us["recommend.rest"] = us["recommend.server"] - us["recommend.rank"]
    return ChatHops(
        trace_id=chat["context"]["trace_id"],
        started_us=_start(chat),
        cache_answered=batch is None,
        batch_texts=int(batch["attributes"]["classify.batch.texts"]) if batch else 0,
        ms={hop: us[hop] / 1000 for hop in HOPS},
    )


def _start(span: Span) -> int:
    return _microseconds(span["start_time"])


def _end(span: Span) -> int:
    return _microseconds(span["end_time"])


def _duration(span: Span) -> int:
    return _end(span) - _start(span)


def _microseconds(stamp: str) -> int:
    """An exported span time ("2026-12-06T17:32:12.593085Z") as integer microseconds: a float
    of seconds since 1970 would keep barely a microsecond of precision."""
    return (datetime.fromisoformat(stamp) - _EPOCH) // timedelta(microseconds=1)
