"""The project's PII corpus through every entry point that takes text, then looked for in every
topic, dead-letter topic, log line and span.

Each text goes in through `POST /v1/chat` and inside a `POST /v1/messages` batch; feedback
carries no text, so `POST /v1/feedback` is sent with ids only (for suggestions chat served).
A string of a kind ingest redacts found anywhere is a leak. Person names and street addresses
are documented as not covered (services/ingest/pii): found, they are counted apart. The
customer ids sent are unique to the run, and are counted where they appear raw in logs or
spans (they belong in Kafka records: the records carry them as data and as the key).
"""

import json
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from reliability.abuse.leak_search import (
    FileMarks,
    find,
    read_records,
    read_telemetry,
    read_topics,
    spellings,
    telemetry_files,
)
from reliability.abuse.target import Target
from servicekit.kafka.headers import MESSAGE_ID
from servicekit.kafka.topics import MESSAGES_CLASSIFIED

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "data" / "pii_corpus.jsonl"
# Kinds no detector covers (services/ingest/pii/__init__.py): reported, not counted as leaks.
UNCOVERED_KINDS = frozenset({"person", "address"})
_BATCH = 50


@dataclass(frozen=True)
class CorpusEntry:
    kind: str
    text: str
    pii: tuple[str, ...]


@dataclass
class PiiReport:
    texts_sent: int = 0
    entry_points: dict[str, int] = field(default_factory=dict)  # 2xx answers per route
    refused: list[str] = field(default_factory=list)  # texts an entry point did not accept
    messages_classified: int = 0
    searched: list[str] = field(default_factory=list)
    leaks: dict[str, list[str]] = field(default_factory=dict)  # "kind: pii" -> where
    uncovered_found: dict[str, int] = field(default_factory=dict)
    uncovered_total: dict[str, int] = field(default_factory=dict)
    customer_ids_sent: int = 0
    # Distinct customer ids of this run seen raw in logs or spans, and how many per file.
    raw_customer_ids_in_telemetry: int = 0
    raw_customer_ids: dict[str, int] = field(default_factory=dict)
    # Conversation ids are record keys too (messages.raw): telemetry carries pseudonyms only.
    raw_conversation_ids_in_telemetry: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "texts_sent": self.texts_sent,
            "accepted_per_entry_point": self.entry_points,
            "refused": self.refused[:10],
            "messages_classified": self.messages_classified,
            "places_searched": self.searched,
            "leaks": dict(list(self.leaks.items())[:20]),
            "uncovered_kinds_found": {
                kind: f"{self.uncovered_found.get(kind, 0)} of {total}"
                for kind, total in self.uncovered_total.items()
            },
            "customer_ids_sent": self.customer_ids_sent,
            "raw_customer_ids_by_place": self.raw_customer_ids,
            "raw_conversation_ids_in_telemetry": self.raw_conversation_ids_in_telemetry,
        }


def load_corpus(path: Path = CORPUS, per_kind: int | None = None) -> list[CorpusEntry]:
    """The corpus, or its first `per_kind` entries of each kind."""
    entries: list[CorpusEntry] = []
    taken: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        kind = record["kind"]
        if per_kind is not None and taken.get(kind, 0) >= per_kind:
            continue
        taken[kind] = taken.get(kind, 0) + 1
        entries.append(CorpusEntry(kind, record["text"], tuple(record["pii"])))
    return entries


def run_pii_sweep(
    target: Target,
    corpus: list[CorpusEntry],
    since: FileMarks | None = None,
    log: Callable[[str], None] = print,
    classify_timeout_s: float = 180,
) -> PiiReport:
    """Send, wait until every accepted message is classified, then search. `since` marks
    where the telemetry files stood before (only what was written after can hold the corpus)."""
    if target.bootstrap_servers is None:
        raise ValueError("the PII sweep reads Kafka: it needs the broker's address")
    report = PiiReport()
    run = uuid.uuid4().hex[:8]
    customer = re.compile(rf"abuse-{run}-(?:chat|batch)-\d{{4}}")
    conversation = re.compile(rf"abuse-{run}-conversation-\d+")
    message_ids: set[str] = set()
    headers = {"X-API-Key": target.client_key}
    with httpx.Client(base_url=target.url, headers=headers, timeout=60) as http:
        served = _send_chats(http, corpus, run, report, message_ids)
        _send_batches(http, corpus, run, report, message_ids)
        _send_feedback(http, served, report)
    report.texts_sent = len(corpus)
    report.customer_ids_sent = 2 * len(corpus)
    log(f"  sent {len(corpus)} texts twice; waiting for {len(message_ids)} classifications")
    report.messages_classified = _wait_classified(
        target.bootstrap_servers, message_ids, classify_timeout_s
    )

    haystacks = read_topics(target.bootstrap_servers)
    telemetry = read_telemetry(telemetry_files(target.log_dir, target.traces_dir), since)
    report.searched = [h.where for h in haystacks + telemetry]
    needles: dict[str, set[str]] = {}
    for entry in corpus:
        for pii in entry.pii:
            needles[f"{entry.kind}: {pii}"] = spellings(pii)
    found = find(needles, haystacks + telemetry)
    for entry in corpus:
        if entry.kind in UNCOVERED_KINDS:
            report.uncovered_total[entry.kind] = report.uncovered_total.get(entry.kind, 0) + 1
            if any(f"{entry.kind}: {pii}" in found for pii in entry.pii):
                report.uncovered_found[entry.kind] = report.uncovered_found.get(entry.kind, 0) + 1
    report.leaks = {
        name: places
        for name, places in found.items()
        if name.split(":", 1)[0] not in UNCOVERED_KINDS
    }
    seen_ids: set[str] = set()
    for haystack in telemetry:
        ids = set(customer.findall(haystack.text))
        if ids:
            report.raw_customer_ids[haystack.where] = len(ids)
            seen_ids |= ids
    report.raw_customer_ids_in_telemetry = len(seen_ids)
    report.raw_conversation_ids_in_telemetry = len(
        {found for haystack in telemetry for found in conversation.findall(haystack.text)}
    )
    return report


def _send_chats(
    http: httpx.Client,
    corpus: list[CorpusEntry],
    run: str,
    report: PiiReport,
    message_ids: set[str],
) -> list[tuple[str, str, str]]:
    """Each text as a chat; (message_id, customer_id, first suggested article) per answer."""

    def chat(index: int) -> tuple[int, httpx.Response]:
        body = {
            "conversation_id": f"abuse-{run}-conversation-{index}",
            "customer_id": f"abuse-{run}-chat-{index:04d}",
            "text": corpus[index].text,
        }
        return index, post(http, "/v1/chat", body)

    served = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for index, response in pool.map(chat, range(len(corpus))):
            if response.status_code != 200:
                report.refused.append(f"chat {corpus[index].kind}: {response.status_code}")
                continue
            report.entry_points["/v1/chat"] = report.entry_points.get("/v1/chat", 0) + 1
            reply = response.json()
            message_ids.add(reply["message_id"])
            if reply["suggestions"]:
                article = reply["suggestions"][0]["article_id"]
                served.append((reply["message_id"], f"abuse-{run}-chat-{index:04d}", article))
    return served


def _send_batches(
    http: httpx.Client,
    corpus: list[CorpusEntry],
    run: str,
    report: PiiReport,
    message_ids: set[str],
) -> None:
    for start in range(0, len(corpus), _BATCH):
        messages = [
            {
                "conversation_id": f"abuse-{run}-conversation-{index}",
                "customer_id": f"abuse-{run}-batch-{index:04d}",
                "text": corpus[index].text,
            }
            for index in range(start, min(start + _BATCH, len(corpus)))
        ]
        response = post(http, "/v1/messages", {"messages": messages})
        if response.status_code != 202:
            report.refused.append(f"batch at {start}: {response.status_code}")
            continue
        report.entry_points["/v1/messages"] = report.entry_points.get("/v1/messages", 0) + len(
            messages
        )
        message_ids.update(response.json()["ids"])


def _send_feedback(
    http: httpx.Client, served: list[tuple[str, str, str]], report: PiiReport
) -> None:
    for message_id, customer_id, article_id in served:
        body = {
            "message_id": message_id,
            "customer_id": customer_id,
            "article_id": article_id,
            "helpful": True,
        }
        response = post(http, "/v1/feedback", body)
        if response.status_code == 202:
            report.entry_points["/v1/feedback"] = report.entry_points.get("/v1/feedback", 0) + 1
        else:
            report.refused.append(f"feedback: {response.status_code}")


def post(http: httpx.Client, path: str, body: Any, attempts: int = 5) -> httpx.Response:
    """POST, waiting out 429 and 503 as their Retry-After says: a running stack keeps its
    rate limits, and the corpus must get in all the same."""
    for _ in range(attempts - 1):
        response = http.post(path, json=body)
        if response.status_code not in (429, 503):
            return response
        time.sleep(min(5.0, float(response.headers.get("Retry-After", "1"))))
    return http.post(path, json=body)


def _wait_classified(bootstrap: str, message_ids: set[str], timeout_s: float) -> int:
    """How many of `message_ids` reached messages.classified within the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = read_records(bootstrap, topics=[MESSAGES_CLASSIFIED])
        done = len(message_ids & {record.header(MESSAGE_ID) for record in records})
        if done == len(message_ids) or time.monotonic() > deadline:
            return done
        time.sleep(2)
