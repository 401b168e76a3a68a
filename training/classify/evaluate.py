"""`python -m training.classify.evaluate`: score the committed bundle on a labelled file.

Intent:    --csv FILE                (header text,category; the Banking77 format)
Sentiment: --text FILE --labels FILE (TweetEval format; labels 0 negative, 1 neutral, 2 positive)

Runs the real serving engine (micro-batcher, heads, calibration) and prints, as its last line,
one JSON object: accuracy, macro_recall, macro_f1, ece (15 bins), n, per_class, plus context.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Literal

from services.classify.settings import ClassifySettings

# The bundle the service serves by default (CLASSIFY_BUNDLE_DIR is not consulted here).
DEFAULT_BUNDLE: Path = ClassifySettings.model_fields["bundle_dir"].default


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.classify.evaluate",
        description="Score the classify bundle on a labelled file; the last line is JSON.",
    )
    parser.add_argument("--csv", type=Path, help="intent data: CSV with header text,category")
    parser.add_argument("--text", type=Path, help="sentiment data: one text per line")
    parser.add_argument("--labels", type=Path, help="sentiment labels: 0/1/2 per line")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--encoder-dir", type=Path, default=None)
    parser.add_argument("--max-batch", type=int, default=32)
    args = parser.parse_args(argv)
    if (args.csv is None) == (args.text is None and args.labels is None):
        parser.error("give either --csv, or --text and --labels")
    if args.csv is None and (args.text is None or args.labels is None):
        parser.error("--text and --labels go together")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    log = logging.getLogger("training.classify.evaluate")

    # Imported here so TF_CPP_MIN_LOG_LEVEL is set before TensorFlow loads.
    from services.classify.bundle import load_bundle
    from services.classify.engine import ClassificationEngine
    from textencoder import SentenceEncoder
    from training.classify.datasets import read_banking77_csv, read_tweeteval_pair
    from training.classify.evaluation import evaluate_predictions

    task: Literal["intent", "sentiment"] = "intent" if args.csv is not None else "sentiment"
    if args.csv is not None:
        data = read_banking77_csv(args.csv)
    else:
        data = read_tweeteval_pair(args.text, args.labels)
    bundle = load_bundle(args.bundle, encoder_dir=args.encoder_dir)
    engine = ClassificationEngine(
        bundle, SentenceEncoder(args.encoder_dir), max_batch=args.max_batch
    )
    engine.start()
    try:
        started = time.perf_counter()
        predictions = engine.classify(data.texts)
        wall_s = time.perf_counter() - started
    finally:
        engine.close()
    labels = bundle.intent.labels if task == "intent" else bundle.sentiment.labels
    report = evaluate_predictions(task, data.labels, predictions, labels)
    log.info("%d texts in %.1f s (%.0f texts/s)", len(data), wall_s, len(data) / wall_s)
    result = report.to_json() | {"task": task, "model_version": bundle.version}
    print(json.dumps(result, sort_keys=False))


if __name__ == "__main__":
    main()
