"""Offline evaluation: how often is an answer for the message's true intent in the top k?

    python -m services.recommend.evaluate FILE.csv [--knowledge-base KB] [--limit N]

FILE.csv has the Banking77 header `text,category`. Everything recommend ranks with comes from
the served classify model, as in production: the committed bundle's encoder (fine-tuned, on
the forward path classify picks for this machine) embeds the knowledge base and the queries,
the vectors travel as float16 and recommend decodes them, and classify's top intents weigh in
(`--retrieval-only` leaves those out). No feedback: posterior-mean helpfulness. A hit at k: an
article whose intent equals the query's category is among the first k suggestions. The last
line printed is JSON: {"hit_at_1", "hit_at_3", "n"}.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from services.classify.prediction import Prediction
from services.recommend.embeddings import build_ranker, knowledge_base_texts
from services.recommend.knowledge_base import DEFAULT_KNOWLEDGE_BASE, load_knowledge_base
from services.recommend.ranker import SuggestionRanker
from services.recommend.vectors import decode_float16


class EvaluationFileError(ValueError):
    """The evaluation CSV is missing, empty or lacks the text,category columns."""


@dataclass(frozen=True)
class HitRates:
    hit_at_1: float
    hit_at_3: float
    n: int
    misses_at_3: Counter[str]  # true intent -> queries without a top-3 hit


def read_labelled_queries(path: Path) -> tuple[list[str], list[str]]:
    """(texts, categories) from a CSV with header text,category."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"text", "category"} <= set(reader.fieldnames):
                raise EvaluationFileError(f"{path}: expected header 'text,category'")
            rows = [(r["text"], r["category"]) for r in reader]
    except OSError as e:
        raise EvaluationFileError(f"{path}: cannot read: {e}") from e
    if not rows:
        raise EvaluationFileError(f"{path}: no rows")
    return [t for t, _ in rows], [c for _, c in rows]


def hit_rates(
    ranker: SuggestionRanker,
    query_vectors: npt.NDArray[np.float32],
    categories: Sequence[str],
    *,
    intents: Sequence[str | None] | None = None,
    intent_confidences: Sequence[float] | None = None,
    intent_probabilities: Sequence[Mapping[str, float]] | None = None,
) -> HitRates:
    """Hit@1 and hit@3 of the ranker, with no feedback and posterior-mean helpfulness."""
    hits1 = hits3 = 0
    misses: Counter[str] = Counter()
    for i, (vector, category) in enumerate(zip(query_vectors, categories, strict=True)):
        top = ranker.rank(
            vector,
            intent=intents[i] if intents is not None else None,
            intent_confidence=intent_confidences[i] if intent_confidences is not None else 0.0,
            top_k=3,
            intent_probabilities=intent_probabilities[i] if intent_probabilities else None,
        )
        found = [s.article.intent == category for s in top]
        hits1 += found[0]
        if any(found):
            hits3 += 1
        else:
            misses[category] += 1
    n = len(categories)
    return HitRates(hits1 / n, hits3 / n, n, misses)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.recommend.evaluate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("file", type=Path, help="CSV with header text,category")
    parser.add_argument("--knowledge-base", type=Path, default=DEFAULT_KNOWLEDGE_BASE)
    parser.add_argument("--limit", type=int, default=0, help="evaluate a seeded random sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--retrieval-only",
        action="store_true",
        help="ignore classify's intents (default: use them, as the running system does)",
    )
    args = parser.parse_args(argv)

    started = time.monotonic()
    articles = load_knowledge_base(args.knowledge_base)
    texts, categories = read_labelled_queries(args.file)
    if 0 < args.limit < len(texts):
        chosen = np.random.default_rng(args.seed).choice(len(texts), args.limit, replace=False)
        texts = [texts[i] for i in sorted(chosen)]
        categories = [categories[i] for i in sorted(chosen)]
    uncovered = sorted(set(categories) - {a.intent for a in articles})
    if uncovered:
        print(f"warning: no article for intents {uncovered} (counted as misses)", file=sys.stderr)

    kb_predictions, predictions = served_predictions(knowledge_base_texts(articles), texts)
    encoders = {p.sentence_vector.encoder_id for p in (*kb_predictions, *predictions)}
    ranker = build_ranker(articles, _vectors(kb_predictions))
    candidates = None if args.retrieval_only else [dict(p.intent_candidates) for p in predictions]
    result = hit_rates(ranker, _vectors(predictions), categories, intent_probabilities=candidates)

    worst = ", ".join(f"{intent}={count}" for intent, count in result.misses_at_3.most_common(8))
    print(f"knowledge base: {args.knowledge_base} ({len(articles)} articles)", file=sys.stderr)
    print(f"encoder: {', '.join(sorted(encoders))}", file=sys.stderr)
    print(f"most top-3 misses: {worst or 'none'}", file=sys.stderr)
    print(
        f"{'retrieval only' if args.retrieval_only else 'with classify'}: "
        f"hit@1={result.hit_at_1:.4f} hit@3={result.hit_at_3:.4f} "
        f"n={result.n} ({time.monotonic() - started:.0f}s)"
    )
    print(
        json.dumps(
            {
                "hit_at_1": round(result.hit_at_1, 4),
                "hit_at_3": round(result.hit_at_3, 4),
                "n": result.n,
            }
        )
    )
    return 0


def served_predictions(
    knowledge_base: Sequence[str], queries: Sequence[str]
) -> tuple[list[Prediction], list[Prediction]]:
    """Classify's predictions, vectors included, for the knowledge base's texts and for the
    queries: the engine classify builds from its settings (imports TensorFlow)."""
    from services.classify.main import build_engine
    from services.classify.settings import ClassifySettings

    engine = build_engine(ClassifySettings(cache_size=0))
    engine.start()
    try:
        return engine.classify(knowledge_base), engine.classify(queries)
    finally:
        engine.close()


def _vectors(predictions: Sequence[Prediction]) -> npt.NDArray[np.float32]:
    """The vectors as recommend receives them: decoded from classify's float16 bytes."""
    return np.stack([decode_float16(p.sentence_vector.float16_le) for p in predictions])


if __name__ == "__main__":
    sys.exit(main())
