"""``python -m benchmarks.nab --data DIR --labels FILE --out DIR [--jobs N]``.

Writes the score files, scores every data file that has an entry in the labels (files with an
empty window list count too: their detections are false positives), prints one line per
profile and, as the last line, a JSON object with the three normalized NAB scores.
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.nab.runner import add_corpus_arguments, data_files, run_corpus
from benchmarks.nab.scoring import load_windows, score_results_dir

_JSON_KEYS = {
    "standard": "nab_standard",
    "reward_low_fp": "nab_reward_low_fp",
    "reward_low_fn": "nab_reward_low_fn",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.nab", description=__doc__)
    add_corpus_arguments(parser, out_help="where score files are written")
    args = parser.parse_args()

    started = time.monotonic()
    keys = data_files(args.data)
    rows = run_corpus(args.data, args.out, keys, jobs=args.jobs)
    elapsed = time.monotonic() - started
    print(f"scored {rows} rows in {len(keys)} files in {elapsed:.1f}s")

    labelled = [key for key in keys if key in load_windows(args.labels)]
    results = score_results_dir(args.out, args.labels, labelled)
    summary: dict[str, object] = {"files": len(labelled)}
    for result in results:
        print(
            f"{result.profile:>14}: {result.normalized:6.2f}  threshold={result.threshold:.6f}"
            f"  raw={result.raw:.3f}  tp={result.true_positives} fp={result.false_positives}"
            f" fn={result.false_negatives}"
        )
        summary[_JSON_KEYS[result.profile]] = round(result.normalized, 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
