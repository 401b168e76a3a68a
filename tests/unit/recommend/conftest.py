"""Small hand-made articles and 4-d embeddings, so ranking maths is checkable by eye."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine

from services.recommend.feedback import FeedbackStore
from services.recommend.knowledge_base import Article
from services.recommend.ranker import SuggestionRanker


def article(article_id: str, intent: str) -> Article:
    return Article(
        id=article_id,
        intent=intent,
        title=f"Title of {article_id}",
        body=f"Body of {article_id}.",
        tags=(intent,),
    )


# Axis 0: lost card, 1: fees, 2: transfers, 3: PIN. The two lost-card articles are near twins.
ARTICLES = [
    article("lost-card", "lost_or_stolen_card"),
    article("lost-card-freeze", "lost_or_stolen_card"),
    article("card-fee", "card_payment_fee_charged"),
    article("transfer-fee", "transfer_fee_charged"),
    article("change-pin", "change_pin"),
]
VECTORS = np.array(
    [
        [1.0, 0.0, 0.0, 0.0],
        [0.95, 0.05, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.7, 0.7, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ],
    dtype=np.float32,
)


@pytest.fixture
def articles() -> list[Article]:
    return list(ARTICLES)


@pytest.fixture
def vectors() -> np.ndarray:
    return VECTORS.copy()


@pytest.fixture
def ranker() -> SuggestionRanker:
    return SuggestionRanker(ARTICLES, VECTORS)


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    feedback_store = FeedbackStore(create_engine(f"sqlite:///{tmp_path / 'feedback.db'}"))
    feedback_store.create_tables()
    return feedback_store
