"""Turn a knowledge base into a ready `SuggestionRanker` with a sentence encoder.

The only place (with the evaluation CLI) that knows about `textencoder`; the ranker itself
takes plain numpy arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from services.recommend.feedback import DEFAULT_PRIOR, BetaPosterior
from services.recommend.knowledge_base import Article
from services.recommend.ranker import DEFAULT_WEIGHTS, RankingWeights, SuggestionRanker


class TextEncoder(Protocol):
    """Anything that embeds texts into an (n, dim) array, like `textencoder.SentenceEncoder`."""

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]: ...


def load_sentence_encoder() -> TextEncoder:
    """The project's all-MiniLM-L6-v2 encoder (imports TensorFlow: slow, do it once)."""
    from textencoder import SentenceEncoder

    return SentenceEncoder()


def build_ranker(
    articles: Sequence[Article],
    encoder: TextEncoder,
    *,
    weights: RankingWeights = DEFAULT_WEIGHTS,
    prior: BetaPosterior = DEFAULT_PRIOR,
    batch_size: int = 64,
) -> SuggestionRanker:
    """Embed every article's text and example questions in one pass and build the ranker."""
    texts = [a.embedding_text() for a in articles]
    for article in articles:
        texts.extend(article.examples)
    vectors = encoder.encode(texts, batch_size=batch_size)
    article_vectors = vectors[: len(articles)]
    example_vectors: list[npt.NDArray[np.float32]] = []
    start = len(articles)
    for article in articles:
        example_vectors.append(vectors[start : start + len(article.examples)])
        start += len(article.examples)
    return SuggestionRanker(
        articles, article_vectors, example_vectors, weights=weights, prior=prior
    )
