"""Knowledge-base articles (reply templates) and their loader.

A knowledge base is a YAML file (`articles:` list, or a top-level list) or a JSONL file (one
article object per line). Each article has `id`, `intent`, `title`, `body`, `tags` and,
optionally, `examples`: customer questions it answers, used only to improve retrieval.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

import yaml

DEFAULT_KNOWLEDGE_BASE = Path(__file__).parent / "knowledge_base" / "banking.yaml"
BANKING77_INTENTS = Path(__file__).parent / "knowledge_base" / "banking77_intents.txt"

_REQUIRED_TEXT_FIELDS = ("id", "intent", "title", "body")
_KNOWN_FIELDS = frozenset((*_REQUIRED_TEXT_FIELDS, "tags", "examples"))


class KnowledgeBaseError(ValueError):
    """The knowledge-base file is unreadable or an article in it is invalid."""


@dataclass(frozen=True)
class Article:
    """One answer an agent can send: what it says, which intent it serves, how to find it."""

    id: str
    intent: str
    title: str
    body: str
    tags: tuple[str, ...]
    examples: tuple[str, ...] = ()

    def embedding_text(self) -> str:
        """The text whose embedding represents the article: title, body and tags."""
        return f"{self.title}. {self.body} Topics: {', '.join(self.tags)}."


def load_knowledge_base(path: Path | str) -> list[Article]:
    """Read and validate the articles in a `.yaml`/`.yml` or `.jsonl` file.

    Raises `KnowledgeBaseError` naming the file and the offending entry when the file cannot be
    parsed, a field is missing/empty/of the wrong type, or two articles share an id.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise KnowledgeBaseError(f"{path}: cannot read knowledge base: {e}") from e

    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        entries = _yaml_entries(path, text)
    elif suffix == ".jsonl":
        entries = _jsonl_entries(path, text)
    else:
        raise KnowledgeBaseError(
            f"{path}: unsupported format {suffix!r}; use .yaml, .yml or .jsonl"
        )

    articles: list[Article] = []
    first_seen: dict[str, str] = {}
    for where, raw in entries:
        article = _parse_article(path, where, raw)
        if article.id in first_seen:
            raise KnowledgeBaseError(
                f"{path}: {where}: duplicate article id {article.id!r} "
                f"(first used at {first_seen[article.id]}); ids must be unique"
            )
        first_seen[article.id] = where
        articles.append(article)
    if not articles:
        raise KnowledgeBaseError(f"{path}: the knowledge base has no articles")
    return articles


def knowledge_base_version(articles: Sequence[Article]) -> str:
    """A short digest of every article's fields, examples included: the version of the index
    built from them, which traces carry to tell one deployed knowledge base from another."""
    digest = hashlib.sha256()
    for article in articles:
        digest.update(json.dumps(astuple(article)).encode("utf-8"))
    return digest.hexdigest()[:12]


def load_intent_names(path: Path | str = BANKING77_INTENTS) -> list[str]:
    """Intent names, one per line (blank lines and `#` comments ignored)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def _yaml_entries(path: Path, text: str) -> list[tuple[str, object]]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise KnowledgeBaseError(f"{path}: invalid YAML: {e}") from e
    if isinstance(document, Mapping):
        document = document.get("articles")
    if not isinstance(document, list):
        raise KnowledgeBaseError(
            f"{path}: expected a list of articles, or a mapping with an 'articles' list"
        )
    return [(f"article #{i + 1}", raw) for i, raw in enumerate(document)]


def _jsonl_entries(path: Path, text: str) -> list[tuple[str, object]]:
    entries: list[tuple[str, object]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as e:
            raise KnowledgeBaseError(f"{path}: line {number}: invalid JSON: {e.msg}") from e
    return entries


def _parse_article(path: Path, where: str, raw: object) -> Article:
    if not isinstance(raw, Mapping):
        raise KnowledgeBaseError(f"{path}: {where}: expected a mapping of article fields")
    label = f"{where} (id {raw['id']!r})" if isinstance(raw.get("id"), str) else where

    def fail(message: str) -> KnowledgeBaseError:
        return KnowledgeBaseError(f"{path}: {label}: {message}")

    unknown = sorted(str(k) for k in raw if k not in _KNOWN_FIELDS)
    if unknown:
        raise fail(f"unknown field(s) {unknown}; allowed: {sorted(_KNOWN_FIELDS)}")
    text: dict[str, str] = {}
    for field in _REQUIRED_TEXT_FIELDS:
        value = raw.get(field)
        if not isinstance(value, str) or not value.strip():
            raise fail(f"field {field!r} must be a non-empty string")
        text[field] = " ".join(value.split())
    tags = _string_list(raw.get("tags"), "tags", fail, required=True)
    examples = _string_list(raw.get("examples", []), "examples", fail, required=False)
    return Article(tags=tags, examples=examples, **text)


def _string_list(
    value: object, field: str, fail: Callable[[str], KnowledgeBaseError], *, required: bool
) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise fail(f"field {field!r} must be a list of strings")
    cleaned: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise fail(f"field {field!r} must contain only non-empty strings")
        cleaned.append(" ".join(item.split()))
    if required and not cleaned:
        raise fail(f"field {field!r} must not be empty")
    return tuple(cleaned)
