"""`python -m benchmarks.system.latency`: open-loop `POST /v1/chat` latency at stepped rates.

    python -m benchmarks.system.latency --messages ../shared/datasets/banking77/train.csv
    CAREPULSE_BENCH_ATTACH=1 python -m benchmarks.system.latency    # the running `make run`

At each rate of --rates it sends distinct customer messages to /v1/chat at that constant
arrival rate for --step-seconds (benchmarks/system/open_loop.py: each request timed from
when it was due, so queueing is not hidden), after a warm-up at the first rate that is not
counted. It stops after the first rate whose p99 misses --target-p99-ms, once --report-rate
has been measured. Progress goes to stderr; the last line of stdout is one JSON object:
`rate_rps`, `p50_ms`, `p95_ms`, `p99_ms` at --report-rate, `max_rate_p99_within_target` (the
highest rate whose p99 met the target, every lower rate meeting it too; 0 when the first
missed), and `rates`, a row per rate measured.
"""

import argparse
import asyncio
import secrets
import sys
from typing import Any

from benchmarks.system.messages import MessagePool, add_message_arguments
from benchmarks.system.open_loop import RequestFor, constant_rate, http_client
from benchmarks.system.report import Report
from benchmarks.system.stats import TARGET_P99_MS, latency_row
from benchmarks.system.target import SystemTarget, add_stack_arguments, log, system_under_test
from reliability.harness import work_folder

CHAT = "/v1/chat"
# Chats spread over this many conversations (and customers), as a busy support desk's are.
CONVERSATIONS = 100


def main() -> int:
    args = _parse_args()
    report = Report()
    messages = MessagePool(args.messages, args.seed)
    with (
        work_folder(args.work_dir, "carepulse-bench-latency-", args.keep) as work_dir,
        system_under_test(work_dir, args.port_offset) as target,
    ):
        rows = asyncio.run(measure(target, messages, args))
    summary = summarize(rows, args.report_rate, args.target_p99_ms)
    summary |= {
        "step_seconds": args.step_seconds,
        "messages": messages.summary(),
        "attached": target.attached,
    }
    report.print_last(summary)
    return 0


async def measure(
    target: SystemTarget, messages: MessagePool, args: argparse.Namespace
) -> list[dict[str, Any]]:
    chat = chat_requests(messages)
    rows: list[dict[str, Any]] = []
    async with http_client(target.url, target.client_key, args.timeout_s) as client:
        log(f"warm-up: {args.warmup_seconds:g}s at {args.rates[0]:g} req/s")
        await constant_rate(client, args.rates[0], args.warmup_seconds, chat)
        for rate in args.rates:
            await asyncio.sleep(args.pause_seconds)  # what the last step queued drains first
            row = latency_row(
                rate, await constant_rate(client, rate, args.step_seconds, chat), args.target_p99_ms
            )
            rows.append(row)
            log(
                f"{rate:g} req/s: p50 {row['p50_ms']} p95 {row['p95_ms']} p99 {row['p99_ms']} ms,"
                f" {row['failed']} failed {row['failed_by_status'] or ''}"
            )
            if "429" in row["failed_by_status"]:
                log("  429s: the client key's rate limit caps this run (docs/performance.md)")
            if not row["within_target"] and rate >= args.report_rate:
                break
    return rows


def chat_requests(messages: MessagePool) -> RequestFor:
    """Chats with a new message each, spread over CONVERSATIONS conversations of this run."""
    run = secrets.token_hex(3)
    sent = 0

    def chat(_: int) -> tuple[str, dict[str, str]]:
        nonlocal sent
        conversation = sent % CONVERSATIONS
        sent += 1
        return CHAT, {
            "conversation_id": f"bench-{run}-{conversation}",
            "customer_id": f"bench-{run}-customer-{conversation}",
            "text": messages.take(1)[0],
            "channel": "chat",
        }

    return chat


def summarize(
    rows: list[dict[str, Any]], report_rate: float, target_p99_ms: float
) -> dict[str, Any]:
    """The report rate's figures on top, the highest rate within target, every row below."""
    reported = next((row for row in rows if row["rate_rps"] == report_rate), rows[-1])
    max_rate: float = 0
    for row in rows:
        if not row["within_target"]:
            break
        max_rate = row["rate_rps"]
    return {
        "rate_rps": reported["rate_rps"],
        "p50_ms": reported["p50_ms"],
        "p95_ms": reported["p95_ms"],
        "p99_ms": reported["p99_ms"],
        "max_ms": reported["max_ms"],
        "max_rate_p99_within_target": max_rate,
        "target_p99_ms": target_p99_ms,
        "rates": rows,
    }


def _rates(value: str) -> list[float]:
    rates = [float(part) for part in value.split(",") if part.strip()]
    if not rates or any(r <= 0 for r in rates) or rates != sorted(set(rates)):
        raise argparse.ArgumentTypeError("rates must be positive and increasing, e.g. 5,10,20")
    return rates


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.system.latency", description=__doc__
    )
    parser.add_argument("--rates", type=_rates, default=_rates("5,10,20,30,40,50,60,80,100"))
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument("--warmup-seconds", type=float, default=5.0)
    parser.add_argument("--pause-seconds", type=float, default=3.0)
    parser.add_argument("--target-p99-ms", type=float, default=TARGET_P99_MS)
    parser.add_argument("--report-rate", type=float, default=20.0, help="the rate on top")
    parser.add_argument("--timeout-s", type=float, default=10.0, help="per request")
    add_message_arguments(parser)
    add_stack_arguments(parser)
    args = parser.parse_args()
    if args.report_rate not in args.rates:
        parser.error("--report-rate must be one of --rates")
    return args


if __name__ == "__main__":
    sys.exit(main())
