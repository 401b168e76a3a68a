"""Small hand-made articles and 4-d embeddings, so ranking maths is checkable by eye; an
embedder standing in for classify that knows exactly those articles' vectors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine

from servicekit.migrations import upgrade_to_head
from services.recommend.embeddings import knowledge_base_texts
from services.recommend.feedback import FeedbackStore
from services.recommend.knowledge_base import Article
from services.recommend.knowledge_index import EmbeddedTexts, EmbeddingUnavailable, KnowledgeIndex
from services.recommend.migrations import RECOMMEND_MIGRATIONS
from services.recommend.ranker import SuggestionRanker
from services.recommend.vector_cache import VectorCache

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


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


ENCODER = "test-encoder:0001"


class FakeEmbedder:
    """Classify's Embed as the index sees it: ARTICLES' texts get VECTORS' rows (any other
    text a constant), under `encoder_id`. Counts the texts it embedded; the first `outages`
    calls fail as if classify were still starting."""

    def __init__(self, encoder_id: str = ENCODER, outages: int = 0) -> None:
        self.current_encoder = encoder_id
        self.embedded_texts = 0
        self.outages = outages
        self._known = dict(zip(knowledge_base_texts(ARTICLES), VECTORS, strict=True))

    def encoder_id(self) -> str:
        if self.outages:
            self.outages -= 1
            raise EmbeddingUnavailable("classify's Embed failed: UNAVAILABLE")
        return self.current_encoder

    def embed(self, texts: Sequence[str]) -> EmbeddedTexts:
        self.embedded_texts += len(texts)
        rows = [self._known.get(t, np.full(4, 0.5, np.float32)) for t in texts]
        return EmbeddedTexts(self.current_encoder, np.stack(rows))


def knowledge_index(
    embedder: FakeEmbedder, cache_dir: Path, articles: Sequence[Article] = ARTICLES
) -> KnowledgeIndex:
    return KnowledgeIndex(articles, embedder, VectorCache(cache_dir), refresh_min_interval_s=0)


@pytest.fixture
def loaded_index(tmp_path: Path) -> KnowledgeIndex:
    """The conftest's articles and vectors, loaded for ENCODER."""
    index = knowledge_index(FakeEmbedder(), tmp_path / "vectors")
    index.load()
    return index


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
    engine = create_engine(f"sqlite:///{tmp_path / 'feedback.db'}")
    upgrade_to_head(engine, RECOMMEND_MIGRATIONS)
    return FeedbackStore(engine)


def vote_on_served(
    store: FeedbackStore,
    n: int,
    customer_id: str,
    article_id: str,
    helpful: bool,
    *,
    intent: str = "",
    at: datetime = T0,
) -> bool:
    """Serve `article_id` for message n to the customer, then apply their vote on it."""
    message_id = f"msg-{n}"
    store.remember_served(customer_id, message_id, intent, [article_id], served_at=at)
    return store.record(
        feedback_id=f"fb-{n}",
        message_id=message_id,
        customer_id=customer_id,
        article_id=article_id,
        helpful=helpful,
        given_at=at,
    )
