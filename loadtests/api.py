"""What the load test's users send and read: gateway routes, request bodies, the SSE format.

Standard library only: the locustfile runs it in Locust's virtualenv, and the project's tests,
which run without Locust, check every route against the gateway's OpenAPI and every body
against its request models.
"""

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHAT = "/v1/chat"
MESSAGES = "/v1/messages"
FEEDBACK = "/v1/feedback"
ALERT_STREAM = "/v1/alerts/stream"
ACKNOWLEDGE = "/v1/alerts/{alert_id}/ack"
# (method, path template) of every request the scenarios send.
ROUTES = {
    ("POST", CHAT),
    ("POST", MESSAGES),
    ("POST", FEEDBACK),
    ("GET", ALERT_STREAM),
    ("POST", ACKNOWLEDGE),
}

# A social-media storm: many angry posts on one topic at once, so the spike detector fires
# and the operators have alerts to acknowledge.
STORM_POSTS = (
    "Card payments declined everywhere today, I am stuck at the checkout again",
    "Your app declined my card three times in a row, this is a disgrace",
    "Declined again! Cannot pay for anything with this card, fix it now",
    "Is the card system down? Every payment of mine is declined, furious",
)


class Texts:
    """Customer messages from a file, each handed out once; past its end, numbered repeats.

    A CSV needs a `text` column (Banking77's `train.csv`); any other file is one message a
    line. The repeats get a reference suffix, so the classify cache still never answers.
    """

    def __init__(self, path: Path) -> None:
        with path.open(encoding="utf-8", newline="") as file:
            if path.suffix == ".csv":
                lines = [row["text"] for row in csv.DictReader(file)]
            else:
                lines = file.read().splitlines()
        self._texts = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
        if not self._texts:
            raise ValueError(f"{path}: no messages")
        self._given = 0

    def next(self) -> str:
        lap, index = divmod(self._given, len(self._texts))
        self._given += 1
        text = self._texts[index]
        return text if lap == 0 else f"{text} (ref {lap}-{index})"


def chat_body(conversation_id: str, customer_id: str, text: str) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "customer_id": customer_id,
        "text": text,
        "channel": "chat",
    }


def feedback_body(
    message_id: str, customer_id: str, article_id: str, helpful: bool
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "customer_id": customer_id,
        "article_id": article_id,
        "helpful": helpful,
    }


def feed_batch(texts: list[str], run: str, first: int, authors: int = 500) -> dict[str, Any]:
    """A batch of social posts; external ids `run`-`first`+i, unique within the run."""
    return {
        "messages": [
            {
                "conversation_id": f"feed-{run}-{(first + i) % authors}",
                "customer_id": f"feed-{run}-author-{(first + i) % authors}",
                "text": text,
                "channel": "social",
                "source": "loadtest-feed",
                "external_id": f"{run}-{first + i}",
            }
            for i, text in enumerate(texts)
        ]
    }


def acknowledge_body(note: str) -> dict[str, Any]:
    return {"note": note}


@dataclass(frozen=True)
class ServerSentEvent:
    id: str | None
    name: str | None
    data: Any  # the JSON of the `data` lines


def server_sent_events(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Events from a text/event-stream's lines; comments (heartbeats) are skipped."""
    fields: dict[str, str] = {}
    data: list[str] = []
    for line in lines:
        if line.startswith(":"):
            continue
        if line:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            else:
                fields[name] = value
            continue
        if data:
            yield ServerSentEvent(
                fields.get("id"), fields.get("event"), json.loads("\n".join(data))
            )
        fields, data = {}, []
