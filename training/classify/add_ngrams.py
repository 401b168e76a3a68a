"""Add a sentiment n-gram model to a trained bundle, as a new bundle version.

    python -m training.classify.add_ngrams --bundle build/classify/v6-exemplars \\
        --data-dir ../shared/datasets --version v6

Fits `NgramModel` (hashed word and character n-grams, logistic regression) on every TweetEval
training tweet, and chooses its temperature, its share of the served sentiment distribution
and the head's temperature in that blend (`training.classify.sentiment_blend`) on tweets the
bundle's encoder, heads and exemplars were never fitted on, scoring each of them with an n-gram
model fitted without it (2 folds): those outside its fine-tuning subset; for a bundle
fine-tuned on every tweet, its dev tweets (which only picked its checkpoint and temperature),
provided no sentiment exemplar memory holds them. A bundle that already serves n-grams gets
them refitted and the whole blend chosen again.
Then scores TweetEval's official validation split once with the whole served stack and writes
`models/classify/<version>`: the bundle's files plus `sentiment_ngrams.safetensors`, with
updated metrics and model card. About 2 minutes on 2 cores when the selection tweets are the
4,747 dev tweets; 10 when they are the tens of thousands outside a fine-tuning subset.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from training.classify.bundle_data import parse_step_args
from training.classify.command import configure_command_logging

if TYPE_CHECKING:
    from training.classify.sentiment_blend import NgramBlendChoice


def main(argv: list[str] | None = None) -> None:
    args = parse_step_args(
        "training.classify.add_ngrams",
        __doc__,
        sys.argv[1:] if argv is None else argv,
        data_help="holds tweeteval_sentiment/",
        forward_help="forward pass that scores the selection tweets; match the serving one",
    )
    configure_command_logging()
    log = logging.getLogger("training.classify.add_ngrams")
    # Imported here so TF_CPP_MIN_LOG_LEVEL is set before TensorFlow loads.
    import numpy as np

    from services.classify.bundle import load_bundle
    from services.classify.ngrams import NgramFeaturizer
    from training.classify.bundle_data import (
        base_model_card,
        bundle_splits,
        save_new_version,
        served_forward,
    )
    from training.classify.model_card import (
        render_side_by_side,
        with_side_by_side,
        without_section,
    )
    from training.classify.ngrams import (
        NgramTrainingConfig,
        count_rows,
        fit_ngram_model,
        out_of_fold_logits,
    )
    from training.classify.sentiment_blend import (
        EncoderSide,
        choose_blend,
        with_ngrams,
        without_ngrams,
    )
    from training.classify.train import score_distribution

    loaded = load_bundle(args.bundle)
    bundle = replace(loaded, sentiment=without_ngrams(loaded.sentiment))
    splits = bundle_splits(bundle, args.data_dir, args.cache_dir)
    unseen = splits.sentiment_unseen
    if len(unseen):
        chosen_on, pool = "unseen", unseen
    elif bundle.sentiment.exemplars is None:
        chosen_on, pool = "dev", splits.sentiment_dev
    else:
        raise SystemExit(
            f"bundle {bundle.version} was fine-tuned on every training tweet and its sentiment "
            "exemplars hold its dev tweets: no tweets are left to choose the blend on "
            "(add exemplars with --tasks intent)"
        )
    labels = bundle.sentiment.labels
    tweets = [splits.sentiment_train, splits.sentiment_dev, unseen]
    texts = [text for part in tweets for text in part.texts]
    label_ids = np.array([labels.index(x) for part in tweets for x in part.labels], np.int64)
    first = len(splits.sentiment_train) + (len(splits.sentiment_dev) if len(unseen) else 0)
    selection = np.arange(first, first + len(pool))
    config = NgramTrainingConfig()
    featurizer = NgramFeaturizer(config.bits)

    log.info("counting n-grams of %d tweets", len(texts))
    rows = count_rows(featurizer, texts)
    log.info("out-of-fold n-gram logits for the %d %s tweets", len(pool), chosen_on)
    ngram_logits = out_of_fold_logits(featurizer, rows, label_ids, len(labels), selection, config)
    log.info("embedding the %d %s tweets (%s)", len(pool), chosen_on, args.forward)
    forward = served_forward(bundle, args.forward)

    def served_sentiment(served: Any, data_texts: list[str]) -> Any:
        vectors = forward.encode(data_texts, batch_size=32)
        return served.sentiment.probabilities(vectors, data_texts)

    encoder_side = EncoderSide.of(
        bundle.sentiment, forward.encode(pool.texts, batch_size=32), pool.texts
    )
    choice = choose_blend(encoder_side, ngram_logits, label_ids[selection])
    log.info("blend: %s", choice)
    model = fit_ngram_model(
        featurizer,
        rows,
        label_ids,
        len(labels),
        config,
        temperature=choice.temperature,
    )
    # As loaded after saving: int8 weights, so the score below is that of what is served.
    sentiment = with_ngrams(bundle.sentiment, choice, model.stored())
    new_version = replace(bundle, version=args.version, sentiment=sentiment)
    evaluation = splits.sentiment_eval
    report = score_distribution(
        served_sentiment(new_version, evaluation.texts), evaluation.labels, labels
    ).to_json()
    print(f"sentiment official validation: {report | {'per_class': '...'}}")

    metrics = dict(bundle.metrics)
    if "sentiment_ngrams" in metrics:  # chosen again: the figures before the n-grams stand
        metrics["sentiment"] = metrics.pop("sentiment_before_ngrams")
        del metrics["sentiment_ngrams"]
    before = metrics["sentiment"]["evaluation"]
    metrics["sentiment_before_ngrams"] = metrics["sentiment"]
    metrics["sentiment"] = dict(metrics["sentiment"]) | {"evaluation": report}
    metrics["sentiment_ngrams"] = {
        "tweets": len(texts),
        "bits": config.bits,
        "training": asdict(config),
        "forward": args.forward,
        "command": args.command,
        "chosen_on": chosen_on,
        **asdict(choice),
    }
    card = without_section(base_model_card(args.bundle, bundle, args.version), _SECTION)
    card = card.rstrip("\n") + "\n"
    card = _with_served_head_temperature(card, bundle.sentiment.head.temperature, choice)
    encoder = "encoder (head + exemplars)" if bundle.sentiment.exemplars else "encoder (head)"
    card += _model_card_section(
        bundle.version, metrics["sentiment_ngrams"], report, (encoder, before)
    )
    card += f"\nCommand: `{args.command}`\n"
    # The last stage of `make train`: every step's dev and reported figures are in by now.
    card = with_side_by_side(card, render_side_by_side(metrics))
    out = save_new_version(new_version, args.output, metrics=metrics, model_card=card)
    print(f"bundle written to {out}")


_SECTION = "## Sentiment n-grams (added to "
_POOLS = {
    "unseen": "training tweets outside the encoder's fine-tuning subset",
    "dev": "dev tweets of the encoder's fine-tuning (which only picked its checkpoint and "
    "temperature)",
}


def _with_served_head_temperature(card: str, own: float, choice: NgramBlendChoice) -> str:
    """The card's head table says the sentiment head's T alone and in the served blend."""
    row = "| sentiment | negative, neutral, positive | 384-d mean-pooled unit vector |"
    served = f"{own:.5g} alone, {choice.head_temperature:g} in the served blend"
    return card.replace(f"{row} T = {own:.5g} |", f"{row} T = {served} |", 1)


def _model_card_section(
    base: str, settings: dict[str, Any], after: dict[str, Any], before: tuple[str, dict[str, Any]]
) -> str:
    def row(label: str, m: dict[str, Any]) -> str:
        return f"| {label} | {m['accuracy']} | {m['macro_recall']} | {m['macro_f1']} | {m['ece']} |"

    head_t = settings["head_temperature"]
    verdict = (
        f"the blend's fitted temperature, {head_t:g}, is served"
        if head_t != 1.0
        else "not kept, the head is served at T 1"
    )
    return f"""
{_SECTION}{base})

`sentiment_ngrams.safetensors` is a logistic regression (TensorFlow, class-balanced, L2) on
hashed word uni-/bigrams and 2-5-byte grams of each token (2 x 2**{settings["bits"]} buckets,
tf-idf), fitted on all {settings["tweets"]:,} TweetEval training tweets (none of the
official validation or test tweets). Its temperature ({settings["temperature"]}, its own NLL),
its share of the served sentiment distribution ({settings["weight"]}, macro recall with the
head at T 1) and the head's temperature in that blend ({head_t:g}) were chosen on the
{settings["selection_size"]:,} {_POOLS[settings["chosen_on"]]},
scoring each with an n-gram model fitted without it: macro recall {settings["selection_score"]}
blended (log loss {settings["selection_log_loss"]}), against {settings["encoder_score"]} for the
encoder's distribution alone and {settings["ngram_score"]} for the n-grams alone. These
selection-time figures are the dev figures of record: the shipped model is refitted on every
training tweet, so the served stack scored on those tweets is leaky.

The head's own temperature calibrates the head alone. In the blend, a temperature fitted on
the blend's log loss scored {settings["cross_fitted_log_loss"]} on the half of those tweets it
was not fitted on, against {settings["t1_log_loss"]} at T 1 on the same tweets: {verdict}.

| official validation sentiment (n={after["n"]}) | accuracy | macro recall | macro F1 | ECE |
|---|---|---|---|---|
{row(*before)}
{row("encoder + n-grams", after)}
"""


if __name__ == "__main__":
    main()
