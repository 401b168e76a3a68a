"""`python -m training.classify.evaluate_explanations`: how faithful the served explanations are.

ERASER-style deletion test (DeYoung et al., 2020) on the texts of a text,category CSV (the
category is not used: explanations are judged against the served label). For each text the
serving engine classifies with `explain=True`; the word pieces are ranked by their weight
(highest first: "positive = pushes towards the prediction"), and for each deletion fraction f
the top max(1, f x pieces rounded half up) are

* removed:   comprehensiveness = p(label | text) - p(label | text without them), higher is better;
* kept only: sufficiency       = p(label | text) - p(label | only them),        lower is better;

where p is the served probability of the served label (`ClassificationEngine.served_probabilities`:
the encoder on the remaining token ids, the n-gram model on the text with the removed pieces'
characters cut out). The same is computed for random pieces (the mean of a few draws) and for
the leave-one-out ranking (pieces ranked by how much removing each alone lowers p). AOPC is the
mean over the fractions. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from services.classify.engine import ClassificationEngine
    from services.classify.explanations import Pieces, Variant

Task = Literal["sentiment", "intent"]
FRACTIONS = (0.05, 0.1, 0.2, 0.5)
REPORTED_FRACTION = 0.2
RANDOM_DRAWS = 3


def pieces_to_remove(n_pieces: int, fraction: float) -> int:
    """How many of `n_pieces` a deletion fraction removes: f x n rounded half up, at least 1."""
    return min(n_pieces, max(1, int(fraction * n_pieces + 0.5)))


def top_positions(content: Sequence[int], weights: Sequence[float], k: int) -> list[int]:
    """The `k` content positions with the highest weight (ties: the earlier piece first)."""
    order = sorted(range(len(content)), key=lambda j: (-weights[j], j))
    return [content[j] for j in order[:k]]


@dataclass
class DeletionScores:
    """Sums over texts of the probability drops, per ranking and fraction."""

    fractions: tuple[float, ...] = FRACTIONS
    n: int = 0
    sums: dict[str, dict[float, list[float]]] = field(default_factory=dict)

    def add(
        self, ranking: str, fraction: float, comprehensiveness: float, sufficiency: float
    ) -> None:
        by_fraction = self.sums.setdefault(ranking, {f: [0.0, 0.0] for f in self.fractions})
        by_fraction[fraction][0] += comprehensiveness
        by_fraction[fraction][1] += sufficiency

    def summary(self, ranking: str) -> dict[str, Any]:
        by_fraction = self.sums[ranking]
        n = max(self.n, 1)
        comp = {f: by_fraction[f][0] / n for f in self.fractions}
        suff = {f: by_fraction[f][1] / n for f in self.fractions}
        return {
            "comprehensiveness": comp[REPORTED_FRACTION],
            "sufficiency": suff[REPORTED_FRACTION],
            "aopc_comprehensiveness": float(np.mean(list(comp.values()))),
            "aopc_sufficiency": float(np.mean(list(suff.values()))),
            "by_fraction": {
                f"{f:g}": {
                    "comprehensiveness": round(comp[f], 4),
                    "sufficiency": round(suff[f], 4),
                }
                for f in self.fractions
            },
        }


def score_text(
    pieces: Pieces,
    weights: Sequence[float],
    probability: Callable[[Sequence[Variant]], npt.NDArray[np.float64]],
    scores: DeletionScores,
    rng: np.random.Generator,
) -> None:
    """Add one text's drops to `scores`. `probability` gives p(served label) per variant,
    `weights` the explanation's weight per content piece, in text order."""
    content = list(pieces.content)
    if len(weights) != len(content):
        raise ValueError(f"{len(weights)} weights for {len(content)} pieces")
    if not content:
        return
    variants: list[Variant] = [pieces.full()]
    variants += [pieces.without([i]) for i in content]
    probs = probability(variants)
    full = float(probs[0])
    leave_one_out = [full - float(p) for p in probs[1:]]

    plan: list[tuple[str, float, Variant, Variant]] = []
    for fraction in scores.fractions:
        k = pieces_to_remove(len(content), fraction)
        rankings = {
            "explanation": top_positions(content, weights, k),
            # The sign check: with the sign right, the most negative pieces matter least.
            "most_negative": top_positions(content, [-w for w in weights], k),
            "leave_one_out": top_positions(content, leave_one_out, k),
        }
        for draw in range(RANDOM_DRAWS):
            rankings[f"random{draw}"] = sorted(rng.choice(content, size=k, replace=False).tolist())
        for name, chosen in rankings.items():
            plan.append((name, fraction, pieces.without(chosen), pieces.only(chosen)))
    reduced = probability([v for _, _, removed, kept in plan for v in (removed, kept)])
    for j, (name, fraction, _, _) in enumerate(plan):
        comprehensiveness = full - float(reduced[2 * j])
        sufficiency = full - float(reduced[2 * j + 1])
        if name.startswith("random"):
            name = "random"
            comprehensiveness /= RANDOM_DRAWS
            sufficiency /= RANDOM_DRAWS
        scores.add(name, fraction, comprehensiveness, sufficiency)
    scores.n += 1


def report(scores: DeletionScores) -> dict[str, Any]:
    explanation = scores.summary("explanation")
    random = scores.summary("random")
    loo = scores.summary("leave_one_out")
    negative = scores.summary("most_negative")
    ratio = (
        explanation["comprehensiveness"] / random["comprehensiveness"]
        if random["comprehensiveness"] > 0
        else float("inf")
    )
    return {
        "comprehensiveness": round(explanation["comprehensiveness"], 4),
        "sufficiency": round(explanation["sufficiency"], 4),
        "random_comprehensiveness": round(random["comprehensiveness"], 4),
        "random_sufficiency": round(random["sufficiency"], 4),
        "comprehensiveness_vs_random": round(ratio, 2),
        "aopc_comprehensiveness": round(explanation["aopc_comprehensiveness"], 4),
        "aopc_sufficiency": round(explanation["aopc_sufficiency"], 4),
        "random_aopc_comprehensiveness": round(random["aopc_comprehensiveness"], 4),
        "random_aopc_sufficiency": round(random["aopc_sufficiency"], 4),
        "leave_one_out_comprehensiveness": round(loo["comprehensiveness"], 4),
        "leave_one_out_sufficiency": round(loo["sufficiency"], 4),
        "leave_one_out_aopc_comprehensiveness": round(loo["aopc_comprehensiveness"], 4),
        "leave_one_out_aopc_sufficiency": round(loo["aopc_sufficiency"], 4),
        "most_negative_comprehensiveness": round(negative["comprehensiveness"], 4),
        "n": scores.n,
        "by_fraction": {
            "explanation": explanation["by_fraction"],
            "random": random["by_fraction"],
            "leave_one_out": loo["by_fraction"],
        },
    }


def evaluate_task(
    engine: ClassificationEngine, texts: Sequence[str], task: Task, seed: int
) -> tuple[dict[str, Any], list[float]]:
    """Deletion scores of `task`'s explanations on `texts`, and each explained call's seconds
    (one text per call, as a chat request)."""
    rng = np.random.default_rng(seed)
    scores = DeletionScores()
    seconds = []
    for text, pieces in zip(texts, engine.pieces(texts), strict=True):
        started = time.perf_counter()
        (prediction,) = engine.classify([text], explain=True)
        seconds.append(time.perf_counter() - started)
        if task == "intent":
            attributions = prediction.intent_attributions
            head = 1
        else:
            attributions = prediction.sentiment_attributions
            head = 0
        full_probs = engine.served_probabilities([pieces.full()])[head][0]
        label = int(full_probs.argmax())

        def probability(variants: Sequence[Variant], head: int = head, label: int = label) -> Any:
            return engine.served_probabilities(variants)[head][:, label].astype(np.float64)

        score_text(pieces, [w for _, w in attributions], probability, scores, rng)
    return report(scores), seconds


def parse_args(argv: list[str]) -> argparse.Namespace:
    from services.classify.explanations import EXPLAIN_METHODS
    from training.classify.evaluate import DEFAULT_BUNDLE

    parser = argparse.ArgumentParser(
        prog="python -m training.classify.evaluate_explanations",
        description="Deletion test of the classify explanations; the last line is JSON.",
    )
    parser.add_argument("--csv", type=Path, required=True, help="CSV with header text,category")
    parser.add_argument("--task", choices=("intent", "sentiment"), default="intent")
    parser.add_argument("--method", choices=EXPLAIN_METHODS, default=None, help="default: served")
    parser.add_argument("--limit", type=int, default=150, help="texts (a seeded sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--encoder-dir", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    log = logging.getLogger("training.classify.evaluate_explanations")

    from services.classify.bundle import load_bundle
    from services.classify.engine import ClassificationEngine
    from textencoder import SentenceEncoder
    from training.classify.datasets import read_banking77_csv

    texts = read_banking77_csv(args.csv).texts
    if args.limit and len(texts) > args.limit:
        rows = np.random.default_rng(args.seed).choice(len(texts), args.limit, replace=False)
        texts = [texts[i] for i in sorted(rows)]
    bundle = load_bundle(args.bundle, encoder_dir=args.encoder_dir)
    options = {} if args.method is None else {"explain_method": args.method}
    engine = ClassificationEngine(
        bundle, SentenceEncoder(args.encoder_dir), cache_size=0, **options
    )
    engine.start()
    try:
        result, seconds = evaluate_task(engine, texts, args.task, args.seed)
    finally:
        engine.close()
    p50, p95 = np.percentile(np.asarray(seconds) * 1000.0, [50, 95])
    log.info("explained calls: p50 %.0f ms, p95 %.0f ms", p50, p95)
    print(
        json.dumps(
            result
            | {
                "task": args.task,
                "method": engine.explain_method,
                "forward": engine.forward_path,
                "explained_call_ms": {"p50": round(float(p50), 1), "p95": round(float(p95), 1)},
                "model_version": bundle.version,
            }
        )
    )


if __name__ == "__main__":
    main()
