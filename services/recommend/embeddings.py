"""The texts of a knowledge base that get a vector, and the ranker built from their vectors.

Each article's text (title, body, tags) comes first, in article order, then every article's
example questions, in the same order: one flat list, embedded in one go, and the layout the
vector cache stores.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from services.recommend.feedback import DEFAULT_PRIOR, BetaPosterior
from services.recommend.knowledge_base import Article
from services.recommend.ranker import DEFAULT_WEIGHTS, RankingWeights, SuggestionRanker


def knowledge_base_texts(articles: Sequence[Article]) -> list[str]:
    """Every text to embed: the articles' texts, then their example questions."""
    texts = [a.embedding_text() for a in articles]
    for article in articles:
        texts.extend(article.examples)
    return texts


def texts_checksum(texts: Sequence[str]) -> str:
    """sha256 of exactly the texts embedded: changes with any article field that reaches them,
    and with how `Article.embedding_text` composes them."""
    return hashlib.sha256(json.dumps(list(texts)).encode("utf-8")).hexdigest()


def build_ranker(
    articles: Sequence[Article],
    vectors: npt.NDArray[np.floating],
    *,
    weights: RankingWeights = DEFAULT_WEIGHTS,
    prior: BetaPosterior = DEFAULT_PRIOR,
) -> SuggestionRanker:
    """The ranker over `articles`, given the vectors of `knowledge_base_texts(articles)`."""
    expected = len(articles) + sum(len(a.examples) for a in articles)
    if len(vectors) != expected:
        raise ValueError(
            f"expected {expected} vectors (articles, then examples), got {len(vectors)}"
        )
    example_vectors: list[npt.NDArray[np.floating]] = []
    start = len(articles)
    for article in articles:
        example_vectors.append(vectors[start : start + len(article.examples)])
        start += len(article.examples)
    return SuggestionRanker(
        articles, vectors[: len(articles)], example_vectors, weights=weights, prior=prior
    )
