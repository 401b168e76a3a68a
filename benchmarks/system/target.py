"""The stack a system benchmark measures: its own, or the running `make run` when told so.

By default each benchmark starts the whole stack as `make run` does (`local.stack`), on ports
shifted by `--port-offset`, in a work folder, with fresh keys whose rate limits are far above
any rate it sends, and stops it afterwards. With CAREPULSE_BENCH_ATTACH=1 it measures the
`make run` of this checkout instead: ports moved by CAREPULSE_PORT_OFFSET, keys from the
environment or `.env.local`, process ids from the run record in the data directory. That
stack's client rate limit (20/s by default) caps what the benchmark can send: start it with
GATEWAY_CLIENT_RATE_PER_S and GATEWAY_CLIENT_BURST raised (docs/performance.md).
"""

import argparse
import os
import secrets
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from local.run import DATA_DIR, PORT_OFFSET, load_or_create_keys
from local.run_record import RunRecord
from local.stack import GRPC_SERVICES, StackPorts, running_stack

ATTACH_ENV = "CAREPULSE_BENCH_ATTACH"
# Far above any rate the benchmarks send: the limiter must not be what they measure.
UNLIMITED_RATE = "100000"


@dataclass(frozen=True)
class SystemTarget:
    url: str
    client_key: str
    operator_key: str
    bootstrap_servers: str
    # The stack's processes by name (kafka, the services, the gateway) and their pids, now.
    processes: Callable[[], dict[str, int]]
    # Processes beside the stack (a `make run` supervisor, observability backends), by name.
    others: Callable[[], dict[str, int]]
    attached: bool
    # Where each process writes its finished spans (`<name>.jsonl`); None when attached:
    # `make run` sends its spans to the collector, not to files.
    traces_dir: Path | None


def add_stack_arguments(parser: argparse.ArgumentParser, kept: str = "stack logs") -> None:
    """--port-offset, --work-dir and --keep: where a benchmark's own stack runs and what stays."""
    parser.add_argument("--port-offset", type=int, default=7500, help="of our own stack")
    parser.add_argument("--work-dir", help="default: a temporary folder")
    parser.add_argument("--keep", action="store_true", help=f"keep the work dir ({kept})")


def attach_requested() -> bool:
    return os.environ.get(ATTACH_ENV, "").lower() in ("1", "true", "yes", "on")


@contextmanager
def system_under_test(
    work_dir: Path,
    port_offset: int,
    settings: Mapping[str, str] | None = None,
    *,
    span_files: bool = False,
) -> Iterator[SystemTarget]:
    """The running `make run` when CAREPULSE_BENCH_ATTACH is set, else a stack of our own.

    `settings` are extra environment variables for our own stack (ignored when attached:
    that stack runs with whatever it was started with). Our own stack writes span files
    only when asked (`span_files`): like `make run`, it otherwise pays for no trace export.
    """
    if attach_requested():
        yield attached()
        return
    with own_stack(work_dir, port_offset, settings or {}, span_files) as target:
        yield target


@contextmanager
def own_stack(
    work_dir: Path, port_offset: int, settings: Mapping[str, str], span_files: bool
) -> Iterator[SystemTarget]:
    client_key = f"bench_client_{secrets.token_urlsafe(12)}"
    operator_key = f"bench_operator_{secrets.token_urlsafe(12)}"
    env = {
        "GATEWAY_CLIENT_RATE_PER_S": UNLIMITED_RATE,
        "GATEWAY_CLIENT_BURST": UNLIMITED_RATE,
        "GATEWAY_OPERATOR_RATE_PER_S": UNLIMITED_RATE,
        "GATEWAY_OPERATOR_BURST": UNLIMITED_RATE,
        **settings,
        "CAREPULSE_CLIENT_KEY": client_key,
        "CAREPULSE_OPERATOR_KEY": operator_key,
        "CAREPULSE_PSEUDONYM_KEY": secrets.token_urlsafe(24),
    }
    log(f"starting a stack on ports shifted by {port_offset} (logs in {work_dir / 'logs'})")
    ports = StackPorts.shifted(port_offset)
    with running_stack(work_dir, ports, env, span_files=span_files) as stack:
        yield SystemTarget(
            url=stack.gateway_url,
            client_key=client_key,
            operator_key=operator_key,
            bootstrap_servers=stack.broker.bootstrap_servers,
            processes=stack.pids,
            others=dict,
            attached=False,
            traces_dir=stack.traces_dir,
        )


def attached() -> SystemTarget:
    """The `make run` of this checkout, checked ready; exits with a reason when it is not."""
    ports = StackPorts.shifted(PORT_OFFSET)
    url = f"http://127.0.0.1:{ports.gateway}"
    try:
        ready = httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        ready = False
    if not ready:
        raise SystemExit(f"{ATTACH_ENV} is set, but no ready gateway answers at {url}")
    # `make run` wrote every key into .env.local (or took them from the environment, which
    # still wins), so nothing is generated here.
    keys = load_or_create_keys()
    record = RunRecord(DATA_DIR)
    stack_names = {"kafka", *GRPC_SERVICES, "gateway"}

    def recorded(in_stack: bool) -> dict[str, int]:
        return {p.name: p.pid for p in record.read() if (p.name in stack_names) == in_stack}

    log(f"attached to the running stack at {url}")
    # Our own stacks start empty; a running one remembers the texts of earlier runs.
    log("classify caches the texts it has seen: restart it between runs over the same messages")
    return SystemTarget(
        url=url,
        client_key=keys["CAREPULSE_CLIENT_KEY"],
        operator_key=keys["CAREPULSE_OPERATOR_KEY"],
        bootstrap_servers=ports.kafka.bootstrap,
        processes=lambda: recorded(True),
        others=lambda: recorded(False),
        attached=True,
        traces_dir=None,
    )


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
