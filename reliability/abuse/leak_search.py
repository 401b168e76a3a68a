"""Everywhere the stack writes what it was sent, as text to search for what must not be there:
every log line (the stack's log files), every span (its trace files) and every Kafka record
(key, value and headers) of every topic, dead-letter topics included."""

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaConsumer

from reliability.kafka_snapshot import read_to_end
from services.ingest.normalize import normalize_text
from services.ingest.pii.digits import ascii_digits


@dataclass(frozen=True)
class Haystack:
    where: str  # "log gateway.log", "spans ingest.jsonl", "topic messages.raw"
    text: str


# Size of each telemetry file, so a search can start where a phase began.
FileMarks = dict[Path, int]


def telemetry_files(*dirs: Path | None) -> list[Path]:
    """The stack's log files (*.log, the broker's included) and trace files (*.jsonl)."""
    files: list[Path] = []
    for folder in dirs:
        if folder is not None and folder.is_dir():
            files += sorted([*folder.glob("*.log"), *folder.glob("*.jsonl")])
    return files


def mark(files: Iterable[Path]) -> FileMarks:
    return {path: path.stat().st_size for path in files}


def read_telemetry(files: Iterable[Path], since: FileMarks | None = None) -> list[Haystack]:
    """Each file's text, from its mark in `since` (if any) to its end."""
    haystacks = []
    for path in files:
        with path.open("rb") as file:
            file.seek((since or {}).get(path, 0))
            text = file.read().decode("utf-8", errors="replace")
        kind = "spans" if path.suffix == ".jsonl" else "log"
        haystacks.append(Haystack(f"{kind} {path.name}", text))
    return haystacks


@dataclass(frozen=True)
class TopicRecord:
    topic: str
    key: str
    value: str  # protobuf bytes, decoded as UTF-8: the strings in it read as they are
    headers: tuple[tuple[str, str], ...]

    def text(self) -> str:
        return " ".join([self.key, self.value, *(value for _, value in self.headers)])

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)


def read_topics(bootstrap_servers: str, timeout_s: float = 60) -> list[Haystack]:
    """Every record of every topic on the broker (but its internal ones), one text per topic;
    empty topics (dead letters, usually) too, so the report names everything searched."""
    texts: dict[str, list[str]] = {topic: [] for topic in list_topics(bootstrap_servers)}
    for record in read_records(bootstrap_servers, list(texts), timeout_s=timeout_s):
        texts[record.topic].append(record.text())
    return [Haystack(f"topic {topic}", "\n".join(lines)) for topic, lines in texts.items()]


def list_topics(bootstrap_servers: str) -> list[str]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None)
    try:
        return sorted(topic for topic in consumer.topics() if not topic.startswith("__"))
    finally:
        consumer.close(autocommit=False)


def read_records(
    bootstrap_servers: str, topics: Iterable[str] | None = None, timeout_s: float = 60
) -> list[TopicRecord]:
    """Each record of `topics` (default: all but the broker's internal ones), start to end."""
    return [
        TopicRecord(
            topic=record.topic,
            key=_text(record.key),
            value=_text(record.value),
            headers=tuple((name, _text(value)) for name, value in record.headers or ()),
        )
        for record in read_to_end(bootstrap_servers, topics, timeout_s=timeout_s)
    ]


def _text(value: bytes | None) -> str:
    return (value or b"").decode("utf-8", errors="replace")


def spellings(value: str) -> set[str]:
    """`value` as sent, and as ingest can have rewritten it before it was stored or logged
    (NFKC, collapsed spaces, digits of every script as ASCII), each also as JSON escapes it
    (logs and spans are JSON lines, non-ASCII written as \\uXXXX)."""
    forms = {value, unicodedata.normalize("NFKC", value), normalize_text(value)}
    forms |= {ascii_digits(form) for form in forms}
    forms |= {json.dumps(form)[1:-1] for form in forms}
    return {form for form in forms if form}


def find(needles: Mapping[str, set[str]], haystacks: Iterable[Haystack]) -> dict[str, list[str]]:
    """For each needle (a name and its spellings), the haystacks any spelling occurs in.

    A spelling that starts or ends with a digit matches only where no other digit continues
    it: "4111111111111111" inside the 20-digit "41111111111111110000" is another number.
    """
    patterns = {
        name: [(form, _bounded(form)) for form in sorted(forms)] for name, forms in needles.items()
    }
    found: dict[str, list[str]] = {}
    for haystack in haystacks:
        for name, spelled in patterns.items():
            # `in` first: a fast pre-check, the pattern only where the string occurs at all.
            if any(form in haystack.text and p.search(haystack.text) for form, p in spelled):
                found.setdefault(name, []).append(haystack.where)
    return found


def _bounded(form: str) -> re.Pattern[str]:
    before = r"(?<!\d)" if form[0].isdigit() else ""
    after = r"(?!\d)" if form[-1].isdigit() else ""
    return re.compile(before + re.escape(form) + after)
