"""``python -m benchmarks.pii [--rounds N] [--seed N]``: score ingest's PII redaction.

Drives ``services.ingest.pii.redact``, the function the ingest pipeline calls, over:

- ``tests/data/pii_corpus.jsonl``: synthetic messages, each with the PII it holds (a found
  item is one whose every string is gone from the output and whose kind is reported), or
  none (a negative form of a detector, or an ordinary support message: any change is a
  false positive). Person names and street addresses are in it too, with no detector: their
  recall is reported so that the gap stays visible.
- the other support messages in ``tests/data`` (all negatives);
- generated references: digit strings of 6 to 20 digits, alone or after a cue word, to see
  how often a number that is no PII still looks like a card or a phone.

Prints misses and false positives, then, as the last line, JSON with per-kind recall,
``false_positives``/``negatives`` over the written negatives, per-length redaction rates of
the generated references, and ``us_per_message`` over the whole corpus.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from pathlib import Path

from services.ingest.pii import KINDS, redact

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
REFERENCE_CUES = ("", "order ", "ref ", "my number is ", "tracking ", "id ")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pii", description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="timing passes over the corpus")
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--references", type=int, default=200, help="per length and cue")
    args = parser.parse_args()

    records = [
        json.loads(line)
        for line in (DATA / "pii_corpus.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    negatives = [record["text"] for record in records if not record["pii"]]
    negatives += _support_messages()

    found: dict[str, list[int]] = {}
    for record in records:
        if not record["pii"]:
            continue
        result = redact(record["text"])
        hit = record["kind"] in result.kinds and not any(
            item in result.text for item in record["pii"]
        )
        counts = found.setdefault(record["kind"], [0, 0])
        counts[0] += hit
        counts[1] += 1
        if not hit and record["kind"] in KINDS:
            print(f"missed {record['kind']}: {record['text']!r} -> {result.text!r}")

    false_positives = 0
    for text in negatives:
        result = redact(text)
        if result.text != text:
            false_positives += 1
            print(f"false positive {result.kinds}: {text!r} -> {result.text!r}")

    texts = [record["text"] for record in records] + negatives
    started = time.perf_counter()
    for _ in range(args.rounds):
        for text in texts:
            redact(text)
    us_per_message = (time.perf_counter() - started) / (args.rounds * len(texts)) * 1e6

    summary: dict[str, object] = {
        f"{kind}_recall": round(hits / total, 3) for kind, (hits, total) in found.items()
    }
    summary["positives"] = sum(total for _, total in found.values())
    summary["false_positives"] = false_positives
    summary["negatives"] = len(negatives)
    summary["references_redacted"] = _reference_rates(random.Random(args.seed), args.references)
    summary["us_per_message"] = round(us_per_message, 1)
    summary["messages_timed"] = len(texts)
    print(json.dumps(summary))


def _support_messages() -> list[str]:
    with (DATA / "bank_support.csv").open(encoding="utf-8", newline="") as rows:
        texts = [row["text"] for row in csv.DictReader(rows)]
    texts += (DATA / "support_sentiment_text.txt").read_text(encoding="utf-8").splitlines()
    return texts


def _reference_rates(rng: random.Random, per_cell: int) -> dict[str, dict[str, float]]:
    """Share of random digit strings redacted, by cue word and number of digits."""
    rates: dict[str, dict[str, float]] = {}
    for cue in REFERENCE_CUES:
        by_length = {}
        for length in (6, 8, 9, 10, 11, 12, 13, 16, 20):
            redacted = 0
            for _ in range(per_cell):
                digits = str(rng.randint(1, 9)) + "".join(
                    rng.choice("0123456789") for _ in range(length - 1)
                )
                text = f"{cue}{digits} please check"
                redacted += redact(text).text != text
            by_length[str(length)] = round(redacted / per_cell, 3)
        rates[cue.strip() or "(none)"] = by_length
    return rates


if __name__ == "__main__":
    main()
