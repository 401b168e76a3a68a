from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.recommend.knowledge_base import (
    BANKING77_INTENTS,
    DEFAULT_KNOWLEDGE_BASE,
    Article,
    KnowledgeBaseError,
    load_intent_names,
    load_knowledge_base,
)

VALID = {
    "id": "lost-card",
    "intent": "lost_or_stolen_card",
    "title": "Lost card",
    "body": "Freeze it in the app.",
    "tags": ["card"],
}


def write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kb.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_knowledge_base_covers_all_77_banking77_intents() -> None:
    intents = load_intent_names(BANKING77_INTENTS)
    articles = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)
    assert len(set(intents)) == 77
    assert {a.intent for a in articles} == set(intents)


def test_shipped_articles_are_complete_replies_with_example_questions() -> None:
    for article in load_knowledge_base(DEFAULT_KNOWLEDGE_BASE):
        sentences = article.body.count(". ") + 1
        assert 2 <= sentences <= 4, article.id
        assert article.tags and len(article.examples) >= 5, article.id
        assert "http" not in article.body and "www." not in article.body, article.id


def test_loader_rejects_duplicate_ids_with_a_clear_message(tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path,
        """
articles:
  - {id: lost-card, intent: lost_or_stolen_card, title: A, body: B, tags: [card]}
  - {id: lost-card, intent: card_arrival, title: C, body: D, tags: [card]}
""",
    )
    with pytest.raises(KnowledgeBaseError) as error:
        load_knowledge_base(path)
    message = str(error.value)
    assert "duplicate article id 'lost-card'" in message
    assert "article #2" in message and "article #1" in message and str(path) in message


def test_loader_names_the_article_and_field_that_is_empty(tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path, "- {id: pin, intent: change_pin, title: Change PIN, body: '  ', tags: [pin]}\n"
    )
    with pytest.raises(KnowledgeBaseError, match=r"article #1 \(id 'pin'\): field 'body'"):
        load_knowledge_base(path)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"tags": []}, "'tags' must not be empty"),
        ({"tags": "card"}, "'tags' must be a list"),
        ({"intent": None}, "'intent' must be a non-empty string"),
        ({"colour": "blue"}, "unknown field"),
    ],
)
def test_loader_rejects_invalid_articles_in_jsonl_naming_the_line(
    tmp_path: Path, change: dict[str, object], error: str
) -> None:
    path = tmp_path / "kb.jsonl"
    lines = [json.dumps(VALID), "", json.dumps({**VALID, "id": "other", **change})]
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=f"line 3.*{error}"):
        load_knowledge_base(path)


def test_jsonl_and_yaml_knowledge_bases_load_the_same_articles(tmp_path: Path) -> None:
    jsonl = tmp_path / "kb.jsonl"
    jsonl.write_text(json.dumps({**VALID, "examples": ["I lost my card"]}) + "\n")
    yaml_path = write_yaml(
        tmp_path,
        "articles:\n  - id: lost-card\n    intent: lost_or_stolen_card\n    title: Lost card\n"
        "    body: >-\n      Freeze it\n      in the app.\n    tags: [card]\n"
        "    examples: [I lost my card]\n",
    )
    expected = Article(
        id="lost-card",
        intent="lost_or_stolen_card",
        title="Lost card",
        body="Freeze it in the app.",
        tags=("card",),
        examples=("I lost my card",),
    )
    assert load_knowledge_base(jsonl) == load_knowledge_base(yaml_path) == [expected]


def test_loader_rejects_unknown_formats_and_unparseable_files(tmp_path: Path) -> None:
    csv_path = tmp_path / "kb.csv"
    csv_path.write_text("id,title\n")
    with pytest.raises(KnowledgeBaseError, match="unsupported format"):
        load_knowledge_base(csv_path)
    with pytest.raises(KnowledgeBaseError, match="invalid YAML"):
        load_knowledge_base(write_yaml(tmp_path, "articles: [unclosed\n"))
    with pytest.raises(KnowledgeBaseError, match="no articles"):
        load_knowledge_base(write_yaml(tmp_path, "articles: []\n"))
    with pytest.raises(KnowledgeBaseError, match="cannot read"):
        load_knowledge_base(tmp_path / "missing.yaml")
