"""Rank knowledge-base articles for one customer message.

score = semantic                                    how close the message is to the article
      + INTENT_PRIOR  * confidence * [intent match]  what classify predicted, as much as it is sure
                        (or * p(article's intent) when classify's distribution is given)
      + HELPFULNESS   * (helpful-rate - prior mean)  what customers told us (Thompson or mean)
and articles the customer rejected are never returned.

`semantic` blends three cosine similarities, all on unit vectors computed once at startup:
the article text (title, body, tags), the centroid of the example questions of the article's
intent, and the nearest single example question of the article (the last two only where
example questions exist; the blend is re-normalised over the signals present).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.recommend.feedback import DEFAULT_PRIOR, BetaPosterior
from services.recommend.knowledge_base import Article

FloatArray = npt.NDArray[np.floating]


@dataclass(frozen=True)
class RankingWeights:
    """How much each signal counts; the semantic blend was tuned on Banking77 train queries."""

    # Article text alone is a weak match for short questions (hit@3 0.89 alone): answers are
    # worded differently from questions, but it still breaks ties the examples leave open.
    article_text: float = 0.2
    # The centroid of the intent's example questions: the strongest single signal (0.92 alone).
    intent_centroid: float = 0.5
    # The nearest single example catches phrasings the centroid averages away (0.93 alone).
    nearest_example: float = 0.3
    # Multiplied by classify's confidence: a sure prediction outweighs typical semantic gaps
    # (~0.05-0.2) but a confident, wrong one can still be beaten by a much closer article.
    intent_prior: float = 0.25
    # Multiplied by (helpful-rate - prior mean) in [-0.5, 0.5]: at most ±0.1, enough to reorder
    # close candidates, never enough to promote an unrelated article.
    helpfulness: float = 0.2


DEFAULT_WEIGHTS = RankingWeights()


@dataclass(frozen=True)
class RankedSuggestion:
    """One suggestion: the article, its blended score and why it was ranked there."""

    article: Article
    score: float
    reasons: tuple[str, ...]


class SuggestionRanker:
    """Scores every article against a query embedding; stateless between calls.

    `article_embeddings` is (n_articles, dim), row i for `articles[i]`'s `embedding_text()`.
    `example_embeddings`, if given, holds for each article an (n_examples_i, dim) array of its
    example questions (n_examples_i may be 0). Rows need not be normalised; they are here.
    """

    def __init__(
        self,
        articles: Sequence[Article],
        article_embeddings: FloatArray,
        example_embeddings: Sequence[FloatArray] | None = None,
        *,
        weights: RankingWeights = DEFAULT_WEIGHTS,
        prior: BetaPosterior = DEFAULT_PRIOR,
    ) -> None:
        if not articles:
            raise ValueError("the ranker needs at least one article")
        vectors = np.asarray(article_embeddings, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(articles):
            raise ValueError(
                f"article_embeddings must be ({len(articles)}, dim), got {vectors.shape}"
            )
        self.articles: tuple[Article, ...] = tuple(articles)
        self.dim = vectors.shape[1]
        self.weights = weights
        self.prior = prior
        self._article_vectors = _unit_rows(vectors)
        self._position = {article.id: row for row, article in enumerate(self.articles)}
        self._intents = sorted({article.intent for article in self.articles})
        self._intent_position = {intent: k for k, intent in enumerate(self._intents)}
        self._intent_of = np.array([self._intent_position[a.intent] for a in self.articles])

        n = len(self.articles)
        self._has_examples = np.zeros(n, dtype=bool)  # the article has example questions
        self._has_centroid = np.zeros(n, dtype=bool)  # some article of its intent has them
        self._centroid_vectors = np.zeros_like(self._article_vectors)
        self._example_vectors = np.zeros((0, self.dim), dtype=np.float32)
        self._example_owner = np.zeros(0, dtype=np.int64)  # nondecreasing: article order
        self._example_articles = np.zeros(0, dtype=np.int64)  # articles with examples
        self._example_starts = np.zeros(0, dtype=np.int64)  # where each one's examples start
        if example_embeddings is not None:
            self._index_examples(example_embeddings)

    def rank(
        self,
        query_embedding: FloatArray,
        intent: str | None = None,
        intent_confidence: float = 0.0,
        customer_rejected: Collection[str] = frozenset(),
        helpfulness: Mapping[str, BetaPosterior] | None = None,
        top_k: int = 3,
        rng: np.random.Generator | None = None,
        *,
        intent_probabilities: Mapping[str, float] | None = None,
    ) -> list[RankedSuggestion]:
        """The best `top_k` articles for a query, best first, never one the customer rejected.

        `helpfulness` maps article id to its posterior (articles missing from it get the prior).
        With `rng`, helpfulness is a Thompson draw per article (exploration; reproducible for a
        seeded generator); with `rng=None` it is the posterior mean (deterministic: evaluation).
        `intent_probabilities` (classify's full distribution), if given, replaces the single
        `intent`/`intent_confidence` prior: each article gets the probability of its own intent,
        so the runner-up intents are boosted too.
        """
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        if not 0.0 <= intent_confidence <= 1.0:
            raise ValueError(f"intent_confidence must be in [0, 1], got {intent_confidence}")
        # Vectorised over the knowledge base; reasons are written for the top k only.
        w = self.weights
        scores = self.semantic_scores(query_embedding)
        semantic = scores.copy()
        intent_p: npt.NDArray[np.float64] | None = None
        if intent_probabilities is not None:
            by_intent = np.array([intent_probabilities.get(i, 0.0) for i in self._intents])
            intent_p = by_intent[self._intent_of]
            scores += w.intent_prior * intent_p
        matched = np.zeros(len(self.articles), dtype=bool)
        if intent_probabilities is None and intent in self._intent_position and intent_confidence:
            matched = self._intent_of == self._intent_position[intent]
            scores += np.where(matched, w.intent_prior * intent_confidence, 0.0)
        alpha, beta = self._posteriors(helpfulness or {})
        rate = alpha / (alpha + beta) if rng is None else rng.beta(alpha, beta)
        scores += w.helpfulness * (rate - self.prior.mean)
        for article_id in customer_rejected:
            if (row := self._position.get(article_id)) is not None:
                scores[row] = -np.inf
        # Stable sort: equal scores keep knowledge-base order, so results are reproducible.
        order = np.argsort(-scores, kind="stable")
        ranked = []
        for row in order[: min(top_k, len(order))]:
            if scores[row] == -np.inf:
                break  # only rejected articles are left
            reasons = [f"semantic={semantic[row]:.2f}"]
            if intent_p is not None and intent_p[row] >= 0.01:
                reasons.append(f"intent_p={intent_p[row]:.2f}")
            elif matched[row]:
                reasons.append("intent_match")
            votes = round(alpha[row] + beta[row] - self.prior.alpha - self.prior.beta)
            if votes > 0:
                reasons.append(
                    f"helpful_rate={alpha[row] / (alpha[row] + beta[row]):.2f} (n={votes})"
                )
            ranked.append(RankedSuggestion(self.articles[row], float(scores[row]), tuple(reasons)))
        return ranked

    def _posteriors(
        self, helpfulness: Mapping[str, BetaPosterior]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Each article's Beta parameters: its posterior where it has one, else the prior."""
        alpha = np.full(len(self.articles), self.prior.alpha)
        beta = np.full(len(self.articles), self.prior.beta)
        for article_id, posterior in helpfulness.items():
            if (row := self._position.get(article_id)) is not None:
                alpha[row], beta[row] = posterior.alpha, posterior.beta
        return alpha, beta

    def semantic_scores(self, query_embedding: FloatArray) -> npt.NDArray[np.float64]:
        """Blended cosine similarity of a query to every article, in article order."""
        query = self._unit_query(query_embedding)
        w = self.weights
        article_sim = (self._article_vectors @ query).astype(np.float64)
        total = w.article_text * article_sim
        weight = np.full(len(self.articles), w.article_text)
        if self._has_centroid.any():
            centroid_sim = (self._centroid_vectors @ query).astype(np.float64)
            total += np.where(self._has_centroid, w.intent_centroid * centroid_sim, 0.0)
            weight += np.where(self._has_centroid, w.intent_centroid, 0.0)
        if self._has_examples.any():
            nearest_sim = np.full(len(self.articles), -1.0)
            nearest_sim[self._example_articles] = np.maximum.reduceat(
                self._example_vectors @ query, self._example_starts
            )
            total += np.where(self._has_examples, w.nearest_example * nearest_sim, 0.0)
            weight += np.where(self._has_examples, w.nearest_example, 0.0)
        # Dividing by the weights present keeps every article on the same [-1, 1] scale.
        blended: npt.NDArray[np.float64] = total / weight
        return blended

    def _index_examples(self, example_embeddings: Sequence[FloatArray]) -> None:
        if len(example_embeddings) != len(self.articles):
            raise ValueError(
                f"example_embeddings must have one array per article ({len(self.articles)}), "
                f"got {len(example_embeddings)}"
            )
        blocks: list[npt.NDArray[np.float32]] = []
        owners: list[npt.NDArray[np.int64]] = []
        for i, block in enumerate(example_embeddings):
            rows = np.asarray(block, dtype=np.float32).reshape(-1, self.dim)
            if rows.size == 0:
                continue
            blocks.append(_unit_rows(rows))
            owners.append(np.full(len(rows), i, dtype=np.int64))
        if not blocks:
            return
        self._example_vectors = np.concatenate(blocks)
        self._example_owner = np.concatenate(owners)
        self._example_articles, self._example_starts = np.unique(
            self._example_owner, return_index=True
        )
        self._has_examples[self._example_articles] = True

        # The centroid is per intent: all articles serving an intent share its example questions.
        intent_of_example = self._intent_of[self._example_owner]
        for k in range(len(self._intents)):
            members = self._example_vectors[intent_of_example == k]
            if len(members):
                centroid = _unit_rows(members.mean(axis=0, keepdims=True))[0]
                self._centroid_vectors[self._intent_of == k] = centroid
                self._has_centroid[self._intent_of == k] = True

    def _unit_query(self, query_embedding: FloatArray) -> npt.NDArray[np.float32]:
        query = np.asarray(query_embedding, dtype=np.float32)
        if query.shape != (self.dim,):
            raise ValueError(f"query_embedding must have shape ({self.dim},), got {query.shape}")
        norm = float(np.linalg.norm(query))
        if not np.isfinite(norm) or norm == 0.0:
            raise ValueError("query_embedding must be a finite, non-zero vector")
        return query / norm


def _unit_rows(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise ValueError("embeddings must be finite, non-zero vectors")
    unit: npt.NDArray[np.float32] = (rows / norms).astype(np.float32)
    return unit
