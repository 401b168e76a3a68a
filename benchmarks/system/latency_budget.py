"""`python -m benchmarks.system.latency_budget`: where a chat's milliseconds go, hop by hop.

    python -m benchmarks.system.latency_budget --messages ../shared/datasets/banking77/train.csv

Starts its own stack with every process writing its finished spans to a file, sends --n
distinct chats at a light constant rate (--rate, open loop as `bench-latency` does) after a
warm-up that is not counted, stops the stack, and splits each answered chat's trace into hops
(benchmarks/system/chat_hops.py): the gateway's own work, each upstream's network + gRPC
overhead and its server's parts (ingest: prepare, Kafka send, waiting for the broker's ack;
classify: queue wait, forward, the rest; recommend: ranking, the rest). Progress goes to
stderr; the last line of stdout is one JSON object: per hop p50, p95 and mean in ms and its
share of the p50 total, the client's own view of the same chats, and the run's conditions.

It cannot attach to a running `make run`: that stack sends its spans to the collector
(Zipkin), not to files this script can read.
"""

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any

from benchmarks.system.chat_hops import HOPS, ChatHops, chat_hops, read_spans
from benchmarks.system.latency import chat_requests
from benchmarks.system.messages import MessagePool, add_message_arguments
from benchmarks.system.open_loop import Outcome, constant_rate, http_client
from benchmarks.system.report import Report
from benchmarks.system.stats import TARGET_P99_MS, latency_row, percentile
from benchmarks.system.target import (
    add_stack_arguments,
    attach_requested,
    log,
    system_under_test,
)
from reliability.harness import work_folder


def main() -> int:
    args = _parse_args()
    if attach_requested():
        raise SystemExit("latency_budget reads span files: it starts its own stack, never attaches")
    report = Report()
    messages = MessagePool(args.messages, args.seed)
    with work_folder(args.work_dir, "carepulse-bench-budget-", args.keep) as work_dir:
        with system_under_test(work_dir, args.port_offset, span_files=True) as target:
            if target.traces_dir is None:
                raise SystemExit("this stack writes no span files")
            traces_dir = target.traces_dir
            since_us, outcomes = asyncio.run(_send(target.url, target.client_key, messages, args))
        # Read after the stack stopped: every process has written its last span by then.
        chats, incomplete = chat_hops(read_spans(traces_dir))
    measured = [chat for chat in chats if chat.started_us >= since_us]
    if not measured:
        raise SystemExit(f"no complete chat trace among {len(chats) + incomplete} written")
    summary = budget(measured)
    summary |= {
        "rate_rps": args.rate,
        "sent": len(outcomes),
        # Incomplete traces from the warm-up count here too: a lost span is worth knowing.
        "traces_incomplete": incomplete,
        "client": latency_row(args.rate, outcomes, TARGET_P99_MS),
        "messages": messages.summary(),
    }
    report.print_last(summary)
    return 0


async def _send(
    url: str, key: str, messages: MessagePool, args: argparse.Namespace
) -> tuple[int, list[Outcome]]:
    """The warm-up, then the measured chats; when they began (µs since 1970), their outcomes."""
    chat = chat_requests(messages)
    async with http_client(url, key, args.timeout_s) as client:
        log(f"warm-up: {args.warmup_seconds:g}s at {args.rate:g} chats/s")
        await constant_rate(client, args.rate, args.warmup_seconds, chat)
        await asyncio.sleep(1)  # the warm-up's last answers are out before the window opens
        since_us = time.time_ns() // 1000
        log(f"measuring: {args.n} chats at {args.rate:g}/s")
        outcomes = await constant_rate(client, args.rate, args.n / args.rate, chat)
    return since_us, outcomes


def budget(chats: list[ChatHops]) -> dict[str, Any]:
    """Per hop p50, p95 and mean (ms) over `chats`, and its p50 as a share of the total's p50.

    Percentiles do not add up (each hop's median comes from a different chat); means do:
    `gateway.own` and the three `*.rpc` means sum to the mean total, as does each RPC's
    network and server parts, and each server's parts.
    """
    total_p50 = percentile([chat.ms["total"] for chat in chats], 50)
    hops: dict[str, dict[str, float]] = {}
    for hop in HOPS:
        values = [chat.ms[hop] for chat in chats]
        p50 = percentile(values, 50)
        hops[hop] = {
            "p50_ms": round(p50, 2),
            "p95_ms": round(percentile(values, 95), 2),
            "mean_ms": round(statistics.fmean(values), 2),
            "share_of_p50_total": round(p50 / total_p50, 3),
        }
    computed = [chat.batch_texts for chat in chats if not chat.cache_answered]
    return {
        "chats": len(chats),
        "total_p50_ms": hops["total"]["p50_ms"],
        "total_p95_ms": hops["total"]["p95_ms"],
        "hops": hops,
        # Ingest publishes each chat's message to Kafka, where classify's consumer may
        # classify it before the gateway's Classify call arrives: that call is then a cache hit.
        "classify_cache_answered": len(chats) - len(computed),
        "classify_batch_texts_mean": round(statistics.fmean(computed), 2) if computed else None,
    }


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.system.latency_budget", description=__doc__
    )
    parser.add_argument("--rate", type=float, default=5.0, help="chats per second, light")
    parser.add_argument("--n", type=int, default=300, help="chats measured")
    parser.add_argument("--warmup-seconds", type=float, default=10.0)
    parser.add_argument("--timeout-s", type=float, default=10.0, help="per request")
    add_message_arguments(parser)
    add_stack_arguments(parser, kept="logs, spans")
    args = parser.parse_args()
    if args.rate <= 0 or args.n < 1 or args.warmup_seconds <= 0:
        parser.error("--rate and --warmup-seconds must be positive, --n at least 1")
    return args


if __name__ == "__main__":
    sys.exit(main())
