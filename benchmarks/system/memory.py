"""`python -m benchmarks.system.memory`: resident memory of every process of the stack, idle,
under load, and idle again after it.

    python -m benchmarks.system.memory
    CAREPULSE_BENCH_ATTACH=1 python -m benchmarks.system.memory    # the running `make run`

Each process (the Kafka broker's JVM, ingest, classify, recommend, alert, the gateway) is
measured with everything it started (benchmarks/system/process_memory.py), every
--interval-s seconds:

* idle: --idle-seconds after the stack is ready, no traffic; the last sample is reported;
* load: --load-seconds of open-loop traffic, chats at --chat-rate plus social-feed batches of
  --feed-batch at --feed-rate batches/s; each process's peak, and the peak of their sum;
* after: --idle-seconds more without traffic; the last sample (what stays resident).

Processes beside the stack (a `make run` supervisor, the observability backends) are listed
under `others` and left out of the totals. The last line of stdout is one JSON object:
`total_rss_mb` (idle), `load_total_rss_mb`, `after_load_total_rss_mb`, the PSS totals, and
each process's figures.
"""

import argparse
import asyncio
import secrets
import sys
import threading
import time

from benchmarks.system.messages import MessagePool, add_message_arguments
from benchmarks.system.open_loop import Outcome, constant_rate, http_client
from benchmarks.system.process_memory import TreeMemory, tree_memory
from benchmarks.system.report import Report
from benchmarks.system.stats import TARGET_P99_MS, latency_row
from benchmarks.system.target import SystemTarget, add_stack_arguments, log, system_under_test
from reliability.harness import work_folder

Sample = dict[str, TreeMemory]


class Sampler:
    """Samples every process of the stack every `interval_s` on a thread, until stopped."""

    def __init__(self, target: SystemTarget, interval_s: float) -> None:
        self._target = target
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self.samples: list[Sample] = []

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self._sample())  # the state at the end, always

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self._sample())
            self._stop.wait(self._interval_s)

    def _sample(self) -> Sample:
        return sample(self._target.processes(), beside=self._target.others())


def sample(processes: dict[str, int], beside: dict[str, int] | None = None) -> Sample:
    """Each process with what it started, but not the others measured: the `make run`
    supervisor's tree holds the whole stack, which is counted once, under each service."""
    measured = set(processes.values()) | set((beside or {}).values())
    found = {name: tree_memory(pid, stop_at=measured - {pid}) for name, pid in processes.items()}
    return {name: memory for name, memory in found.items() if memory is not None}


def main() -> int:
    args = _parse_args()
    report = Report()
    messages = MessagePool(args.messages, args.seed)
    with (
        work_folder(args.work_dir, "carepulse-bench-memory-", args.keep) as work_dir,
        system_under_test(work_dir, args.port_offset) as target,
    ):
        log(f"idle for {args.idle_seconds:g}s")
        with Sampler(target, args.interval_s) as idle:
            time.sleep(args.idle_seconds)
        log(f"load for {args.load_seconds:g}s")
        with Sampler(target, args.interval_s) as load:
            chats = asyncio.run(_load(target, messages, args))
        log(f"idle again for {args.idle_seconds:g}s")
        with Sampler(target, args.interval_s) as after:
            time.sleep(args.idle_seconds)
        others = sample(target.others(), beside=target.processes())
    idle_last, after_last = idle.samples[-1], after.samples[-1]
    report.print_last(
        {
            "total_rss_mb": _total(idle_last, "rss_mb"),
            "load_total_rss_mb": max(_total(s, "rss_mb") for s in load.samples),
            "after_load_total_rss_mb": _total(after_last, "rss_mb"),
            "total_pss_mb": _total(idle_last, "pss_mb"),
            "load_total_pss_mb": max(_total(s, "pss_mb") for s in load.samples),
            "processes": {
                name: {
                    "idle_rss_mb": memory.rss_mb,
                    "load_peak_rss_mb": max(s[name].rss_mb for s in load.samples if name in s),
                    "after_load_rss_mb": after_last[name].rss_mb if name in after_last else None,
                    "idle_pss_mb": memory.pss_mb,
                    "process_count": memory.processes,
                }
                for name, memory in idle_last.items()
            },
            "others": {
                name: {"rss_mb": m.rss_mb, "pss_mb": m.pss_mb} for name, m in others.items()
            },
            "load": {
                "seconds": args.load_seconds,
                "chat": latency_row(args.chat_rate, chats, TARGET_P99_MS),
                "feed_msgs_per_s": args.feed_rate * args.feed_batch,
            },
            "messages": messages.summary(),
            "attached": target.attached,
        }
    )
    return 0


async def _load(
    target: SystemTarget, messages: MessagePool, args: argparse.Namespace
) -> list[Outcome]:
    """Chats and feed batches side by side, both on a constant schedule; the chats' outcomes."""
    run = secrets.token_hex(3)

    def chat(i: int) -> tuple[str, dict[str, str]]:
        return "/v1/chat", {
            "conversation_id": f"bench-{run}-{i % 50}",
            "customer_id": f"bench-{run}-customer-{i % 50}",
            "text": messages.take(1)[0],
        }

    def feed(i: int) -> tuple[str, dict[str, list[dict[str, str]]]]:
        texts = messages.take(args.feed_batch)
        return "/v1/messages", {
            "messages": [
                {
                    "conversation_id": f"feed-{run}-{j % 200}",
                    "customer_id": f"feed-{run}-author-{j % 200}",
                    "text": text,
                    "channel": "social",
                    "external_id": f"{run}-{i}-{j}",
                }
                for j, text in enumerate(texts)
            ]
        }

    async with http_client(target.url, target.client_key, timeout_s=10) as client:
        chats, _ = await asyncio.gather(
            constant_rate(client, args.chat_rate, args.load_seconds, chat),
            constant_rate(client, args.feed_rate, args.load_seconds, feed),
        )
    return chats


def _total(sampled: Sample, field: str) -> float:
    return round(sum(float(getattr(memory, field)) for memory in sampled.values()), 1)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.system.memory", description=__doc__)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--load-seconds", type=float, default=30.0)
    parser.add_argument("--interval-s", type=float, default=0.5, help="between samples")
    parser.add_argument("--chat-rate", type=float, default=10.0, help="chats/s under load")
    parser.add_argument("--feed-rate", type=float, default=1.0, help="feed batches/s")
    parser.add_argument("--feed-batch", type=int, default=50, help="messages per feed batch")
    add_message_arguments(parser)
    add_stack_arguments(parser)
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
