"""`python -m benchmarks.system.pipeline`: messages/s from `POST /v1/messages` to
messages.classified, against the classify engine alone, on the same machine in the same run.

    python -m benchmarks.system.pipeline --messages ../shared/datasets/banking77/train.csv
    CAREPULSE_BENCH_ATTACH=1 python -m benchmarks.system.pipeline    # the running `make run`

Each round, in alternating order:

* pipeline: --n distinct messages posted in batches of --batch by --posters posters as fast as
  the gateway accepts them (benchmarks/system/firehose.py), while a real consumer reads
  messages.classified (benchmarks/system/kafka_watch.py) and alert and recommend consume it
  as they always do. The rate is the steady one: distinct ids that arrived between the first
  10% and the last 10% of arrivals, over that time. Then the run waits until every consumer
  group of messages.classified has committed the end of the topic, and says how long after
  the last arrival that was (`downstream_drained_after_s`).
* engine: --engine-n other distinct messages through the classify engine, built in this
  process as the service builds it (benchmarks/system/engine_throughput.py), idle stack beside.

Each round also says where the CPU went: each stack process's CPU milliseconds per message
from the first post until the consumers drained (`cpu_ms_per_msg`, read from /proc), and the
engine's (`engine_cpu_ms_per_msg`). On a machine the pipeline saturates, the ratio can be no
better than the engine's CPU per message over the stack's total.

Progress goes to stderr; the last line of stdout is one JSON object: `pipeline_msgs_per_s`,
`engine_msgs_per_s` (medians over rounds), `ratio` (pipeline / engine), and each round.
"""

import argparse
import asyncio
import secrets
import statistics
import sys
import time
from typing import Any

from benchmarks.system.engine_throughput import EngineThroughput
from benchmarks.system.firehose import Accepted, post_all
from benchmarks.system.kafka_watch import ClassifiedWatcher, downstream_lag
from benchmarks.system.messages import MessagePool, add_message_arguments
from benchmarks.system.open_loop import http_client
from benchmarks.system.process_cpu import cpu_ms_per_message, cpu_seconds
from benchmarks.system.report import Report
from benchmarks.system.target import SystemTarget, add_stack_arguments, log, system_under_test
from reliability.harness import work_folder
from reliability.kafka_snapshot import end_offsets
from servicekit.kafka.topics import MESSAGES_CLASSIFIED

# The share of arrivals left out at each end: the ramp-up and the tail are not sustained.
TRIM = 0.1


def main() -> int:
    args = _parse_args()
    report = Report()
    messages = MessagePool(args.messages, args.seed)
    rounds: list[dict[str, Any]] = []
    with (
        work_folder(args.work_dir, "carepulse-bench-pipeline-", args.keep) as work_dir,
        system_under_test(work_dir, args.port_offset) as target,
    ):
        log("building the classify engine in this process")
        with EngineThroughput(args.engine_batch, args.engine_concurrency) as engine:
            for number in range(args.rounds):
                result: dict[str, Any] = {}
                order = ("engine", "pipeline") if number % 2 == 0 else ("pipeline", "engine")
                for step in order:
                    if step == "engine":
                        run = engine.run(messages.take(args.engine_n))
                        result["engine_msgs_per_s"] = round(run.msgs_per_s, 1)
                        result["engine_cpu_ms_per_msg"] = round(run.cpu_ms_per_msg, 3)
                    else:
                        result |= measure_pipeline(target, messages.take(args.n), args)
                    log(f"round {number + 1}/{args.rounds} {step}: {_brief(result, step)}")
                rounds.append(result)
    pipeline = statistics.median(r["pipeline_msgs_per_s"] for r in rounds)
    engine_rate = statistics.median(r["engine_msgs_per_s"] for r in rounds)
    report.print_last(
        {
            "pipeline_msgs_per_s": round(pipeline, 1),
            "engine_msgs_per_s": round(engine_rate, 1),
            "ratio": round(pipeline / engine_rate, 2),
            "rounds": rounds,
            "config": {
                "n": args.n,
                "engine_n": args.engine_n,
                "batch": args.batch,
                "posters": args.posters,
                "engine_batch": args.engine_batch,
                "engine_concurrency": args.engine_concurrency,
            },
            "messages": messages.summary(),
            "attached": target.attached,
        }
    )
    return 0


def measure_pipeline(
    target: SystemTarget, texts: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    since = end_offsets(target.bootstrap_servers, MESSAGES_CLASSIFIED)
    processes = target.processes()
    cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    with ClassifiedWatcher(target.bootstrap_servers, since) as watcher:
        started = time.monotonic()
        accepted = asyncio.run(_post(target, texts, args))
        posted = time.monotonic()
        ids = {i for batch in accepted for i in batch.ids}
        all_arrived = watcher.wait_for(ids, args.timeout_s)
        arrivals = watcher.arrivals(ids)
        records = watcher.records
    if len(arrivals) < 2:
        raise RuntimeError(f"{len(arrivals)} of {len(ids)} messages reached {MESSAGES_CLASSIFIED}")
    drained_after = _wait_drained(target.bootstrap_servers, arrivals[-1], args.timeout_s)
    # From the first post until the consumers drained: every process's work on these messages.
    cpu = cpu_ms_per_message(
        cpu_before, {name: cpu_seconds(pid) for name, pid in processes.items()}, len(ids)
    )
    return {
        "pipeline_msgs_per_s": round(steady_rate(arrivals, TRIM), 1),
        "accepted": len(ids),
        "classified": len(arrivals),
        "all_classified": all_arrived,
        "redelivered_records": records - len(arrivals),
        "accept_msgs_per_s": round(len(ids) / (posted - started), 1),
        "wall_msgs_per_s": round(len(arrivals) / (arrivals[-1] - started), 1),
        "downstream_drained_after_s": _rounded(drained_after),
        "cpu_ms_per_msg": cpu,
        "cpu_ms_per_msg_total": round(sum(cpu.values()), 3),
    }


async def _post(target: SystemTarget, texts: list[str], args: argparse.Namespace) -> list[Accepted]:
    async with http_client(target.url, target.client_key, timeout_s=30) as client:
        return await post_all(client, texts, args.batch, args.posters, secrets.token_hex(4))


def steady_rate(arrivals: list[float], trim: float) -> float:
    """Arrivals per second between the first and the last `trim` share of sorted `arrivals`."""
    low, high = int(len(arrivals) * trim), len(arrivals) - 1 - int(len(arrivals) * trim)
    if high <= low:
        low, high = 0, len(arrivals) - 1  # too few to trim
    span = arrivals[high] - arrivals[low]
    # Arrivals read in one poll share a timestamp: a span of 0 means "faster than we can see".
    return (high - low) / max(span, 1e-3)


def _wait_drained(bootstrap_servers: str, last_arrival: float, timeout_s: float) -> float | None:
    """Seconds from the last arrival until alert and recommend committed all; None: never."""
    deadline = time.monotonic() + timeout_s
    lag: dict[str, int] = {}
    while time.monotonic() < deadline:
        lag = downstream_lag(bootstrap_servers)
        if lag and not any(lag.values()):
            return time.monotonic() - last_arrival
        time.sleep(0.5)
    log(f"consumers of {MESSAGES_CLASSIFIED} still behind after {timeout_s:g}s: {lag}")
    return None


def _brief(result: dict[str, Any], step: str) -> str:
    if step == "engine":
        return f"{result['engine_msgs_per_s']} msgs/s"
    return (
        f"{result['pipeline_msgs_per_s']} msgs/s ({result['classified']}/{result['accepted']}"
        f" classified; consumers drained {result['downstream_drained_after_s']}s later)"
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.system.pipeline", description=__doc__
    )
    parser.add_argument("--n", type=int, default=3000, help="messages per pipeline round")
    parser.add_argument("--engine-n", type=int, default=1500, help="messages per engine round")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100, help="messages per POST")
    parser.add_argument("--posters", type=int, default=2, help="POSTs in flight")
    parser.add_argument("--engine-batch", type=int, default=64, help="texts per engine call")
    parser.add_argument("--engine-concurrency", type=int, default=2, help="engine callers")
    parser.add_argument("--timeout-s", type=float, default=300.0, help="for arrivals, drains")
    add_message_arguments(parser)
    add_stack_arguments(parser)
    args = parser.parse_args()
    if min(args.engine_n, args.rounds, args.batch, args.posters) < 1 or args.n < 20:
        parser.error("--n must be >= 20 (a steady rate needs some), every other count >= 1")
    return args


if __name__ == "__main__":
    sys.exit(main())
