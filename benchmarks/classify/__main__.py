"""``python -m benchmarks.classify``: classify throughput against two baselines, interleaved.

Three ways to turn the same customer messages into all-MiniLM-L6-v2 outputs, on the same CPU
thread budget (``--threads``, default 2), measured in the same run:

* engine: the real classify gRPC server (``benchmarks.classify.serve``, a subprocess with the
  committed bundle), called with ``ClassifyBatch`` requests of ``--batch`` messages, at most
  ``--concurrency`` in flight; sentiment + intent for every message, through gRPC.
* sentence_transformers: ``SentenceTransformer(<model dir>).encode(texts, batch_size=32)``
  with PyTorch on the CPU, run by the benchmark's own virtualenv (``--bench-python``).
* naive_pipeline: ``transformers.pipeline("feature-extraction", framework="tf")`` called once
  per message on the first ``--naive-n`` messages of the round (it is slow).

Each of ``--rounds`` rounds takes ``--n`` fresh messages (``benchmarks.classify.messages``,
all distinct, so the engine's cache never answers) and runs the three in a rotating order.
The result is the median over rounds. Prints progress to stderr and, as the last line of
stdout, one JSON object with the three rates, the ratios, n, the load average and the config.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import grpc
from carepulse.v1 import classify_pb2, classify_pb2_grpc

from benchmarks.classify.messages import generate_messages

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BENCH_PYTHON = REPO_ROOT / ".venv-bench" / "bin" / "python"
ALTERNATIVES = (
    "engine",
    "sentence_transformers",
    "naive_pipeline",
    "sentence_transformers_1_thread",
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.classify", description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="messages per round")
    parser.add_argument("--naive-n", type=int, default=200, help="messages per round, naive")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64, help="messages per ClassifyBatch")
    parser.add_argument("--concurrency", type=int, default=2, help="requests in flight")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for each model")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--bench-python", type=Path, default=DEFAULT_BENCH_PYTHON)
    args = parser.parse_args(argv)
    if min(args.n, args.naive_n, args.rounds, args.batch, args.concurrency, args.threads) < 1:
        parser.error("every count must be >= 1")
    if args.naive_n > args.n:
        parser.error("--naive-n must not exceed --n")
    if not args.bench_python.is_file():
        parser.error(f"{args.bench_python} not found; `make bench-classify` creates it")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    load_start = os.getloadavg()
    env = _thread_env(args.threads)
    texts = generate_messages(args.n * args.rounds, seed=args.seed)
    rates: dict[str, list[float]] = {name: [] for name in ALTERNATIVES}
    with (
        tempfile.TemporaryDirectory(prefix="bench-classify-") as tmp,
        _Server(env, args.threads) as server,
    ):
        _log(f"classify server ready on port {server.port} ({server.model_version})")
        for round_no in range(args.rounds):
            chunk = texts[round_no * args.n : (round_no + 1) * args.n]
            texts_file = Path(tmp) / f"round{round_no}.json"
            texts_file.write_text(json.dumps(chunk), encoding="utf-8")
            naive_file = Path(tmp) / f"round{round_no}-naive.json"
            naive_file.write_text(json.dumps(chunk[: args.naive_n]), encoding="utf-8")

            bench_python = str(args.bench_python)
            st_module = "sentence_transformers_run"
            runs: dict[str, Callable[[], float]] = {
                "engine": partial(_engine_rate, server.port, chunk, args.batch, args.concurrency),
                "sentence_transformers": partial(
                    _module_rate, bench_python, st_module, texts_file, args.threads, env
                ),
                # On a shared, oversubscribed CPU PyTorch's OpenMP pool can lose badly with 2
                # threads; one thread shows whether a win is only that.
                "sentence_transformers_1_thread": partial(
                    _module_rate, bench_python, st_module, texts_file, 1, env
                ),
                "naive_pipeline": partial(
                    _module_rate,
                    sys.executable,
                    "naive_pipeline_run",
                    naive_file,
                    args.threads,
                    env,
                ),
            }
            shift = round_no % len(ALTERNATIVES)
            order = ALTERNATIVES[shift:] + ALTERNATIVES[:shift]
            for name in order:
                rate = runs[name]()
                rates[name].append(rate)
                _log(
                    f"round {round_no + 1}/{args.rounds} {name}: {rate:.1f} msgs/s "
                    f"(load {os.getloadavg()[0]:.2f})"
                )
    engine_stats = server.stats
    engine, st, naive, st_1 = (statistics.median(rates[name]) for name in ALTERNATIVES)
    result: dict[str, Any] = {
        "engine_msgs_per_s": round(engine, 1),
        "sentence_transformers_msgs_per_s": round(st, 1),
        "naive_pipeline_msgs_per_s": round(naive, 1),
        "engine_vs_sentence_transformers": round(engine / st, 2),
        "engine_vs_naive_pipeline": round(engine / naive, 2),
        "sentence_transformers_1_thread_msgs_per_s": round(st_1, 1),
        "engine_vs_best_sentence_transformers": round(engine / max(st, st_1), 2),
        "n": args.n,
        "naive_n": args.naive_n,
        "rounds": args.rounds,
        "per_round_msgs_per_s": {k: [round(r, 1) for r in v] for k, v in rates.items()},
        "load_average": {"start": _rounded(load_start), "end": _rounded(os.getloadavg())},
        "cpu_count": os.cpu_count(),
        "engine_stats": engine_stats,
        "config": {
            "batch": args.batch,
            "concurrency": args.concurrency,
            "threads": args.threads,
            "seed": args.seed,
            "sentence_transformers_batch_size": 32,
            "classify_env": {
                k: v for k, v in sorted(os.environ.items()) if k.startswith("CLASSIFY_")
            },
        },
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": round(time.monotonic() - started, 1),
    }
    print(json.dumps(result))


def _engine_rate(port: int, texts: list[str], batch: int, concurrency: int) -> float:
    batches = [texts[i : i + batch] for i in range(0, len(texts), batch)]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = classify_pb2_grpc.ClassifyServiceStub(channel)

        def call(chunk: list[str]) -> int:
            response = stub.ClassifyBatch(classify_pb2.ClassifyBatchRequest(texts=chunk))
            got = response.classifications
            if len(got) != len(chunk) or not all(c.sentiment and c.intent for c in got):
                raise RuntimeError("ClassifyBatch returned an incomplete answer")
            return len(got)

        call(["warm the channel up: where is my card?"])  # one text; cached afterwards
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            done = sum(pool.map(call, batches))
        return done / (time.perf_counter() - started)


def _module_rate(python: str, module: str, texts: Path, threads: int, env: dict[str, str]) -> float:
    """msgs/s printed by `python -m benchmarks.classify.<module> --texts ... --threads ...`."""
    command = [python, "-m", f"{__package__}.{module}", "--texts", str(texts)]
    return _subprocess_rate([*command, "--threads", str(threads)], env)


def _subprocess_rate(command: list[str], env: dict[str, str]) -> float:
    completed = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{command[2]} failed:\n{completed.stderr[-4000:]}")
    return float(json.loads(completed.stdout.strip().splitlines()[-1])["msgs_per_s"])


class _Server:
    """`benchmarks.classify.serve` as a subprocess: up after __enter__, stats after __exit__."""

    def __init__(self, env: dict[str, str], threads: int) -> None:
        self._env = env
        self._threads = threads
        self._process: subprocess.Popen[str] | None = None
        self.port = 0
        self.model_version = ""
        self.stats: dict[str, Any] = {}

    def __enter__(self) -> _Server:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.classify.serve", "--threads", str(self._threads)],
            cwd=REPO_ROOT,
            env=self._env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait()
            raise RuntimeError(f"classify server exited with {self._process.returncode}")
        ready = json.loads(line)
        self.port, self.model_version = int(ready["port"]), str(ready["model_version"])
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is None:
            return
        out, _ = self._process.communicate(timeout=60)  # closes stdin: the server stops
        lines = out.strip().splitlines()
        self.stats = json.loads(lines[-1]) if lines else {}


def _thread_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        RAYON_NUM_THREADS=str(threads),
        TF_CPP_MIN_LOG_LEVEL="2",
        TOKENIZERS_PARALLELISM="true",
        CUDA_VISIBLE_DEVICES="",
    )
    return env


def _rounded(load: tuple[float, float, float]) -> list[float]:
    return [round(x, 2) for x in load]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
