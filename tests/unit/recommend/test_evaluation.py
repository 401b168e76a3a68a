from __future__ import annotations

import importlib.util
import json
import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from services.classify.prediction import Prediction, SentenceVector
from services.recommend import evaluate
from services.recommend.embeddings import build_ranker, knowledge_base_texts
from services.recommend.knowledge_base import Article, load_knowledge_base
from services.recommend.ranker import SuggestionRanker
from services.recommend.vectors import decode_float16


def bag_of_words(texts: Sequence[str], dim: int = 64) -> npt.NDArray[np.float32]:
    """A stand-in for the sentence encoder: hashed word counts, unit length."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().replace("?", " ").replace(".", " ").split():
            out[row, zlib.crc32(word.encode()) % dim] += 1.0
    out += 1e-3
    unit: npt.NDArray[np.float32] = out / np.linalg.norm(out, axis=1, keepdims=True)
    return unit


def bag_of_words_predictions(texts: Sequence[str]) -> list[Prediction]:
    """What classify would answer, with bag-of-words vectors and no intent preference."""
    return [
        Prediction(
            "neutral", 1.0, "", 0.0, "test", SentenceVector("bow", row.astype("<f2").tobytes())
        )
        for row in bag_of_words(texts)
    ]


def test_hit_rates_count_a_hit_when_any_top3_article_has_the_true_intent(
    ranker: SuggestionRanker,
) -> None:
    queries = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0, 1.0]], dtype=np.float32)
    # 1st: lost card at rank 1. 2nd: transfer-fee at rank 2. 3rd: nothing about transfers.
    categories = ["lost_or_stolen_card", "transfer_fee_charged", "transfer_timing"]
    result = evaluate.hit_rates(ranker, queries, categories)
    assert (result.hit_at_1, result.hit_at_3, result.n) == (1 / 3, 2 / 3, 3)
    assert result.misses_at_3 == {"transfer_timing": 1}


def test_cli_prints_hit_rates_as_json_on_its_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kb = tmp_path / "kb.jsonl"
    kb.write_text(
        "\n".join(
            json.dumps(a)
            for a in [
                {
                    "id": "pin",
                    "intent": "change_pin",
                    "title": "Change your PIN",
                    "body": "Use an ATM.",
                    "tags": ["pin"],
                    "examples": ["change my pin"],
                },
                {
                    "id": "lost",
                    "intent": "lost_or_stolen_card",
                    "title": "Lost card",
                    "body": "Freeze it.",
                    "tags": ["lost"],
                    "examples": ["I lost my card"],
                },
            ]
        )
    )
    queries = tmp_path / "queries.csv"
    queries.write_text(
        "text,category\nhow do I change my pin,change_pin\nlost card,lost_or_stolen_card\n"
    )
    monkeypatch.setattr(
        evaluate,
        "served_predictions",
        lambda kb, queries: (bag_of_words_predictions(kb), bag_of_words_predictions(queries)),
    )

    assert evaluate.main([str(queries), "--knowledge-base", str(kb)]) == 0

    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last_line) == {"hit_at_1": 1.0, "hit_at_3": 1.0, "n": 2}


def test_cli_rejects_a_csv_without_text_and_category(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,label\nhello,greeting\n")
    with pytest.raises(evaluate.EvaluationFileError, match="text,category"):
        evaluate.read_labelled_queries(bad)


def test_build_ranker_takes_the_vectors_of_the_articles_then_their_examples(
    articles: list[Article],
) -> None:
    with_examples = [articles[0], replace(articles[4], examples=("new pin please",))]
    texts = knowledge_base_texts(with_examples)
    assert texts[2:] == ["new pin please"]

    ranker = build_ranker(with_examples, bag_of_words(texts))

    assert ranker.rank(bag_of_words(["a new pin please"])[0], top_k=1)[0].article.id == (
        "change-pin"
    )
    with pytest.raises(ValueError, match="expected 3 vectors"):
        build_ranker(with_examples, bag_of_words(texts[:2]))


@pytest.mark.skipif(
    importlib.util.find_spec("textencoder") is None, reason="textencoder is not installed"
)
def test_shipped_knowledge_base_answers_everyday_questions_with_the_served_encoder() -> None:
    from services.recommend.knowledge_base import DEFAULT_KNOWLEDGE_BASE

    questions = {
        "Someone stole my card last night": "lost_or_stolen_card",
        "How do I change my PIN?": "change_pin",
        "My card was declined at the supermarket": "declined_card_payment",
    }
    # Every other article of the shipped knowledge base keeps this test quick on a CPU.
    articles = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)
    kept = [a for i, a in enumerate(articles) if i % 2 == 0 or a.intent in questions.values()]
    kb, queries = evaluate.served_predictions(knowledge_base_texts(kept), list(questions))
    ranker = build_ranker(kept, _decoded(kb))
    for vector, intent in zip(_decoded(queries), questions.values(), strict=True):
        # Retrieval alone: no help from classify's intents.
        assert intent in [s.article.intent for s in ranker.rank(vector, top_k=3)]


def _decoded(predictions: Sequence[Prediction]) -> npt.NDArray[np.float32]:
    return np.stack([decode_float16(p.sentence_vector.float16_le) for p in predictions])
