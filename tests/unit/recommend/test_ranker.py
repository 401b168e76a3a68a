from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from services.recommend.feedback import DEFAULT_PRIOR, BetaPosterior, FeedbackStore
from services.recommend.knowledge_base import Article
from services.recommend.ranker import RankedSuggestion, RankingWeights, SuggestionRanker
from tests.unit.recommend.conftest import vote_on_served

LOST_CARD = np.array([1.0, 0.0, 0.0, 0.0])
LOST_CARD_LEANING_FEES = np.array([1.0, 0.25, 0.0, 0.0])  # "lost-card-freeze" is a bit closer
FEES_MOSTLY_CARD = np.array([0.0, 1.0, 0.2, 0.0])  # card-fee 0.98 vs transfer-fee 0.83


def ids(suggestions: list[RankedSuggestion]) -> list[str]:
    return [s.article.id for s in suggestions]


def test_rejected_article_is_never_returned_even_when_it_is_the_best_match(
    ranker: SuggestionRanker,
) -> None:
    n_articles = len(ranker.articles)
    rejected = {"lost-card"}
    assert ids(ranker.rank(LOST_CARD, top_k=1)) == ["lost-card"]
    everything = ranker.rank(LOST_CARD, customer_rejected=rejected, top_k=n_articles)
    assert "lost-card" not in ids(everything)
    assert len(everything) == n_articles - 1
    very_helpful = {"lost-card": BetaPosterior(500.0, 1.0)}
    for seed in range(50):
        top = ranker.rank(
            LOST_CARD,
            intent="lost_or_stolen_card",
            intent_confidence=1.0,
            customer_rejected=rejected,
            helpfulness=very_helpful,
            top_k=3,
            rng=np.random.default_rng(seed),
        )
        assert "lost-card" not in ids(top)


def test_helpful_feedback_raises_an_article_to_first_place_over_time(
    ranker: SuggestionRanker, store: FeedbackStore
) -> None:
    assert ids(ranker.rank(LOST_CARD_LEANING_FEES, top_k=2)) == ["lost-card-freeze", "lost-card"]

    def first_place_share(draws: int = 200) -> float:
        rng = np.random.default_rng(7)
        posteriors = store.posteriors("lost_card")
        firsts = [
            ranker.rank(LOST_CARD_LEANING_FEES, helpfulness=posteriors, top_k=1, rng=rng)[0]
            for _ in range(draws)
        ]
        return sum(s.article.id == "lost-card" for s in firsts) / draws

    share_before = first_place_share()
    for n in range(10):
        vote_on_served(store, n, f"customer-{n}", "lost-card", True, intent="lost_card", at=_at(n))
    share_after = first_place_share()

    assert share_after > share_before + 0.2
    assert share_after > 0.8
    by_mean = ranker.rank(
        LOST_CARD_LEANING_FEES, helpfulness=store.posteriors("lost_card"), top_k=1
    )
    assert ids(by_mean) == ["lost-card"]


def test_unhelpful_feedback_from_others_lowers_an_article_without_hiding_it(
    ranker: SuggestionRanker,
) -> None:
    disliked = {"lost-card": DEFAULT_PRIOR.updated(helpful=0, not_helpful=10)}
    top = ranker.rank(LOST_CARD, helpfulness=disliked, top_k=2)
    assert ids(top) == ["lost-card-freeze", "lost-card"]


def test_intent_prior_boosts_matching_articles_in_proportion_to_confidence(
    ranker: SuggestionRanker,
) -> None:
    assert ids(ranker.rank(FEES_MOSTLY_CARD, top_k=1)) == ["card-fee"]
    unsure = ranker.rank(
        FEES_MOSTLY_CARD, intent="transfer_fee_charged", intent_confidence=0.2, top_k=1
    )
    assert ids(unsure) == ["card-fee"]
    sure = ranker.rank(
        FEES_MOSTLY_CARD, intent="transfer_fee_charged", intent_confidence=0.9, top_k=1
    )
    assert ids(sure) == ["transfer-fee"]


def test_every_suggestion_says_why_it_was_ranked(ranker: SuggestionRanker) -> None:
    helpfulness = {"lost-card": DEFAULT_PRIOR.updated(helpful=8, not_helpful=0)}
    top = ranker.rank(
        LOST_CARD,
        intent="lost_or_stolen_card",
        intent_confidence=0.9,
        helpfulness=helpfulness,
        top_k=3,
    )
    first = top[0]
    assert first.article.id == "lost-card"
    assert first.reasons == ("semantic=1.00", "intent_match", "helpful_rate=0.83 (n=8)")
    assert all(s.reasons and s.reasons[0].startswith("semantic=") for s in top)
    assert "intent_match" not in top[2].reasons  # card-fee has another intent


def test_scores_are_sorted_and_top_k_is_respected(ranker: SuggestionRanker) -> None:
    top = ranker.rank(FEES_MOSTLY_CARD, top_k=4)
    assert len(top) == 4
    assert [s.score for s in top] == sorted((s.score for s in top), reverse=True)
    assert len(ranker.rank(FEES_MOSTLY_CARD, top_k=100)) == len(ranker.articles)


def test_thompson_sampling_is_reproducible_with_a_seeded_generator(
    ranker: SuggestionRanker,
) -> None:
    helpfulness = {"lost-card": BetaPosterior(3.0, 5.0), "lost-card-freeze": BetaPosterior(4, 4)}

    def ranked(seed: int) -> list[tuple[str, float]]:
        rng = np.random.default_rng(seed)
        top = ranker.rank(LOST_CARD, helpfulness=helpfulness, top_k=5, rng=rng)
        return [(s.article.id, s.score) for s in top]

    assert ranked(42) == ranked(42)
    assert len({tuple(ranked(seed)) for seed in range(20)}) > 1  # it does explore


def test_posterior_mean_ranking_is_deterministic(ranker: SuggestionRanker) -> None:
    helpfulness = {"card-fee": BetaPosterior(9.0, 2.0)}
    first = ranker.rank(FEES_MOSTLY_CARD, helpfulness=helpfulness, top_k=5)
    assert all(
        ranker.rank(FEES_MOSTLY_CARD, helpfulness=helpfulness, top_k=5) == first for _ in range(5)
    )


def test_example_questions_pull_an_article_toward_how_customers_ask(
    articles: list[Article], vectors: np.ndarray
) -> None:
    # The PIN article's text sits on axis 3, but customers ask about it along axis 0.
    examples = [np.zeros((0, 4))] * 4 + [np.array([[0.9, 0.0, 0.0, 0.1], [1.0, 0.0, 0.0, 0.0]])]
    weights = RankingWeights(article_text=0.2, intent_centroid=0.5, nearest_example=0.3)
    with_examples = SuggestionRanker(articles, vectors, examples, weights=weights)
    scores = with_examples.semantic_scores(LOST_CARD)
    assert scores[4] > 0.75
    assert scores[0] == pytest.approx(1.0)  # articles without examples keep text similarity


def test_malformed_inputs_are_rejected_with_clear_errors(
    ranker: SuggestionRanker, articles: list[Article], vectors: np.ndarray
) -> None:
    with pytest.raises(ValueError, match="shape"):
        ranker.rank(np.ones(3))
    with pytest.raises(ValueError, match="non-zero"):
        ranker.rank(np.zeros(4))
    with pytest.raises(ValueError, match="intent_confidence"):
        ranker.rank(LOST_CARD, intent="change_pin", intent_confidence=1.5)
    with pytest.raises(ValueError, match="top_k"):
        ranker.rank(LOST_CARD, top_k=0)
    with pytest.raises(ValueError, match="article_embeddings"):
        SuggestionRanker(articles, vectors[:2])


def _at(minute: int) -> datetime:
    return datetime(2025, 1, 1, 12, minute, tzinfo=UTC)


def test_classify_distribution_boosts_each_article_by_its_intents_probability(
    ranker: SuggestionRanker,
) -> None:
    probabilities = {"transfer_fee_charged": 0.85, "card_payment_fee_charged": 0.1}
    top = ranker.rank(FEES_MOSTLY_CARD, intent_probabilities=probabilities, top_k=2)
    assert ids(top) == ["transfer-fee", "card-fee"]
    assert top[0].reasons == ("semantic=0.83", "intent_p=0.85")
