"""One measurement of the naive path: a `transformers` pipeline called once per message.

``python -m benchmarks.classify.naive_pipeline_run --texts FILE --threads N``: builds
``pipeline("feature-extraction", framework="tf")`` on the same all-MiniLM-L6-v2 files, then for
each text runs it alone and mean-pools the token vectors (what a first prototype would do),
and prints one JSON line. Runs in the services' virtualenv (TensorFlow, no PyTorch).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.classify.naive_pipeline_run")
    parser.add_argument("--texts", type=Path, required=True, help="JSON list of strings")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import numpy as np
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    from textencoder import configure_tf_threads, default_model_dir

    configure_tf_threads(args.threads, 1)
    hf_logging.set_verbosity_error()
    texts: list[str] = json.loads(args.texts.read_text(encoding="utf-8"))
    model_dir = str(default_model_dir())
    extract = pipeline(
        "feature-extraction", model=model_dir, tokenizer=model_dir, framework="tf", torch_dtype=None
    )
    for text in texts[:3]:  # warm-up
        extract(text)
    started = time.perf_counter()
    for text in texts:
        tokens = np.asarray(extract(text)[0], dtype=np.float32)
        vector = tokens.mean(axis=0)
        vector /= np.linalg.norm(vector)
    wall_s = time.perf_counter() - started
    print(json.dumps({"msgs_per_s": len(texts) / wall_s, "wall_s": wall_s, "n": len(texts)}))


if __name__ == "__main__":
    main()
