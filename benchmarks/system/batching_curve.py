"""`python -m benchmarks.system.batching_curve`: classify's micro-batching from light to heavy load.

    python -m benchmarks.system.batching_curve --messages ../shared/datasets/banking77/train.csv

The classify engine runs in this process, built by `services.classify.main.build_engine` from
the served bundle and the CLASSIFY_* settings, as the service builds it. Single-text callers
(what a chat's Classify call is) arrive at a constant rate, open loop: text i is due at
start + i / rate whatever happened before, and its latency runs from that due time to its
answer, so a queue in front of the engine counts. Each rate of --rates runs for
--step-seconds; the curve stops after the first rate the engine could not keep up with
(achieved below 95% of offered). Per rate: achieved texts/s, latency p50/p99, the mean
micro-batch size and the share of micro-batches of one text (from the engine's
carepulse_classify_batch_size histogram).

One curve per --max-wait-ms value: the configured CLASSIFY_MAX_WAIT_MS (how long the batcher
waits for company after the first text of a micro-batch), and 0, which never waits. Each
curve's engine runs with its prediction cache off and cycles through the same --texts
distinct messages: every text goes through the model, whatever the number of rates, and every
rate sees the same mix of short and long texts. Progress goes to stderr; the last line of
stdout is one JSON object.
"""

import argparse
import itertools
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY

from benchmarks.system.engine_throughput import served_engine
from benchmarks.system.messages import MessagePool, add_message_arguments
from benchmarks.system.report import Report
from benchmarks.system.stats import percentile
from benchmarks.system.target import log
from services.classify.settings import ClassifySettings

if TYPE_CHECKING:  # the model's libraries load only when the engine is built
    from services.classify.engine import ClassificationEngine

# Below this share of the offered rate, the engine is saturated: its queue only grows.
KEEPS_UP = 0.95
BATCH_SIZE = "carepulse_classify_batch_size"


@dataclass(frozen=True)
class BatchSizes:
    """The engine's batch-size histogram, cumulative since the process started."""

    micro_batches: float
    texts: float
    of_one_text: float

    @classmethod
    def now(cls) -> "BatchSizes":
        def sample(suffix: str, labels: dict[str, str] | None = None) -> float:
            return REGISTRY.get_sample_value(f"{BATCH_SIZE}{suffix}", labels) or 0.0

        return cls(sample("_count"), sample("_sum"), sample("_bucket", {"le": "1.0"}))

    def __sub__(self, earlier: "BatchSizes") -> "BatchSizes":
        return BatchSizes(
            self.micro_batches - earlier.micro_batches,
            self.texts - earlier.texts,
            self.of_one_text - earlier.of_one_text,
        )


@dataclass(frozen=True)
class Answer:
    send_lag_s: float  # how late this client handed the text to the engine
    latency_s: float  # from when the text was due to its answer
    answered_at: float  # time.perf_counter()


def main() -> int:
    args = _parse_args()
    report = Report()
    pool = MessagePool(args.messages, args.seed)
    corpus = pool.take(args.texts)
    configured = ClassifySettings()
    curves: dict[str, list[dict[str, Any]]] = {}
    for max_wait_ms in args.max_wait_ms or [configured.max_wait_ms, 0.0]:
        settings = configured.model_copy(update={"max_wait_ms": max_wait_ms, "cache_size": 0})
        log(f"building the classify engine, max_wait_ms={max_wait_ms:g}")
        with served_engine(settings) as engine:
            curves[f"max_wait_ms={max_wait_ms:g}"] = curve(engine, itertools.cycle(corpus), args)
    report.print_last(
        {
            "curves": curves,
            "config": {
                "max_batch": configured.max_batch,
                "forward": configured.forward,
                "step_seconds": args.step_seconds,
                "callers": args.callers,
            },
            "messages": pool.summary(),
        }
    )
    return 0


def curve(
    engine: "ClassificationEngine", texts: Iterator[str], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """A row per rate, up to and including the first the engine could not keep up with."""
    with ThreadPoolExecutor(args.callers, thread_name_prefix="caller") as callers:
        log(f"warm-up: {args.warmup_seconds:g}s at {args.rates[0]:g} texts/s")
        warm_up = round(args.rates[0] * args.warmup_seconds)
        _constant_rate(engine, callers, list(itertools.islice(texts, warm_up)), args.rates[0])
        rows = []
        for rate in args.rates:
            before = BatchSizes.now()
            count = max(1, round(rate * args.step_seconds))
            answers = _constant_rate(engine, callers, list(itertools.islice(texts, count)), rate)
            row = rate_row(rate, answers, BatchSizes.now() - before)
            rows.append(row)
            log(
                f"{rate:g} texts/s: achieved {row['achieved_texts_per_s']}, p50 {row['p50_ms']}"
                f" p99 {row['p99_ms']} ms, mean batch {row['mean_batch_texts']}"
            )
            if row["saturated"] and not args.all_rates:
                break
    return rows


def _constant_rate(
    engine: "ClassificationEngine", callers: ThreadPoolExecutor, texts: list[str], rate: float
) -> list[Answer]:
    start = time.perf_counter()
    pending = []
    for i, text in enumerate(texts):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        pending.append(callers.submit(_classify_one, engine, text, due))
    return [answer.result() for answer in pending]


def _classify_one(engine: "ClassificationEngine", text: str, due: float) -> Answer:
    sent = time.perf_counter()
    engine.classify([text])
    answered = time.perf_counter()
    return Answer(sent - due, answered - due, answered)


def rate_row(rate: float, answers: list[Answer], batches: BatchSizes) -> dict[str, Any]:
    """One rate's figures: achieved is the rate of answers, from the first to the last."""
    latencies_ms = [answer.latency_s * 1000 for answer in answers]
    answered = sorted(answer.answered_at for answer in answers)
    achieved = (len(answered) - 1) / (answered[-1] - answered[0]) if len(answered) > 1 else 0.0
    return {
        "offered_texts_per_s": rate,
        "texts": len(answers),
        "achieved_texts_per_s": round(achieved, 1),
        "p50_ms": round(percentile(latencies_ms, 50), 1),
        "p99_ms": round(percentile(latencies_ms, 99), 1),
        "micro_batches": int(batches.micro_batches),
        "mean_batch_texts": _ratio(batches.texts, batches.micro_batches, 2),
        "share_of_batches_of_one": _ratio(batches.of_one_text, batches.micro_batches, 3),
        # Below saturation, a large lag means the client (sharing this process and its GIL
        # with the engine) fell behind; past it, texts also wait here for a free caller.
        "client_send_lag_p99_ms": round(
            percentile([answer.send_lag_s * 1000 for answer in answers], 99), 1
        ),
        "saturated": achieved < KEEPS_UP * rate,
    }


def _ratio(part: float, whole: float, digits: int) -> float | None:
    return round(part / whole, digits) if whole else None


def _floats(value: str) -> list[float]:
    numbers = [float(part) for part in value.split(",") if part.strip()]
    if not numbers or any(n < 0 for n in numbers):
        raise argparse.ArgumentTypeError("a comma-separated list of numbers >= 0, e.g. 5,0")
    return numbers


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.system.batching_curve", description=__doc__
    )
    parser.add_argument(
        "--rates", type=_floats, default=_floats("10,25,50,100,150,200,300,400,600,800")
    )
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--warmup-seconds", type=float, default=3.0)
    parser.add_argument(
        "--max-wait-ms", type=_floats, help="one curve each; default: the configured one, and 0"
    )
    parser.add_argument("--texts", type=int, default=5000, help="distinct texts, cycled")
    parser.add_argument("--callers", type=int, default=128, help="texts in flight at most")
    parser.add_argument("--all-rates", action="store_true", help="go on past saturation")
    add_message_arguments(parser)
    args = parser.parse_args()
    if 0 in args.rates or args.rates != sorted(set(args.rates)):
        parser.error("--rates must be positive and increasing")
    if args.step_seconds <= 0 or args.warmup_seconds <= 0 or min(args.callers, args.texts) < 1:
        parser.error("--step-seconds, --warmup-seconds, --callers and --texts must be positive")
    if args.texts <= args.callers:
        # A micro-batch computes a text once for all its callers: no text may be in flight twice.
        parser.error("--texts must be more than --callers")
    return args


if __name__ == "__main__":
    sys.exit(main())
