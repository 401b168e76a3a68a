"""`python -m reliability.abuse`: start a stack (or attach to one), attack it, print JSON last.

    python -m reliability.abuse                          # own stack on ports +3500
    python -m reliability.abuse --url http://127.0.0.1:8080 --client-key ... --operator-key ...

Progress goes to stderr; the last line of stdout is one JSON object. Exit status 0 when
nothing that must hold broke (0 server errors, schema violations, PII leaks, unauthenticated
access, keys logged, raw customer ids in telemetry, failed attacks; the gateway alive and
ready at the end).
"""

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from reliability.abuse.auth_matrix import run_auth_matrix
from reliability.abuse.hostile import Attacks
from reliability.abuse.leak_search import find, mark, read_telemetry, telemetry_files
from reliability.abuse.memory import RssSampler, alive
from reliability.abuse.openapi_fuzz import run_schemathesis, send_complaints, wait_for_alert
from reliability.abuse.pii_sweep import load_corpus, run_pii_sweep
from reliability.abuse.target import Target, attached, own_stack
from reliability.harness import finish, work_folder

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCHEMATHESIS = REPO_ROOT / ".venv-abuse" / "bin" / "schemathesis"


def main() -> int:
    args = _parse_args()
    started = time.monotonic()
    with (
        work_folder(args.work_dir, "carepulse-abuse-", args.keep) as work_dir,
        _target(args, work_dir) as target,
    ):
        _log(f"abuse: attacking {target.url} (work dir {work_dir})")
        summary = attack(target, args, work_dir)
    return finish(summary, started)


def attack(target: Target, args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    with ExitStack() as stack:
        rss = (
            stack.enter_context(RssSampler(target.gateway_pid))
            if target.gateway_pid is not None
            else None
        )
        _log("auth matrix")
        auth = run_auth_matrix(target)
        pii = None
        if target.bootstrap_servers is not None:
            _log("PII sweep")
            since = mark(telemetry_files(target.log_dir, target.traces_dir))
            pii = run_pii_sweep(target, load_corpus(per_kind=args.pii_per_kind), since, _log)
        topic = send_complaints(target)
        _log("hostile requests")
        hostile = Attacks(target, _log).run_all()
        fuzz = []
        if not args.skip_fuzz:
            alert_id = wait_for_alert(target, topic, timeout_s=60) if topic else None
            _log(f"schemathesis ({args.fuzz_seconds:g}s; seeded alert: {alert_id})")
            fuzz = run_schemathesis(
                target, args.schemathesis, work_dir, args.fuzz_seconds, args.max_examples, log=_log
            )
    ready = _ready(target)
    gateway_alive = ready and (target.gateway_pid is None or alive(target.gateway_pid))
    presented = target.all_keys() + auth.unknown_keys + list(target.other_secrets)
    key_needles = {f"secret {i}": {key} for i, key in enumerate(presented)}
    files = telemetry_files(target.log_dir, target.traces_dir)
    keys_found = find(key_needles, read_telemetry(files))

    server_errors = hostile.server_errors + [e for run in fuzz for e in run.server_errors]
    schema_violations = [v for run in fuzz for v in run.schema_violations]
    summary: dict[str, Any] = {
        "server_errors": len(server_errors),
        "schema_violations": len(schema_violations),
        "pii_leaks": len(pii.leaks) if pii else None,
        "max_gateway_rss_mb": round(rss.max_mb, 1) if rss and rss.max_mb else None,
        "unauthenticated_reachable": len(auth.violations),
        "raw_customer_ids_in_telemetry": pii.raw_customer_ids_in_telemetry if pii else None,
        "keys_in_telemetry": len(keys_found),
        "hostile_failed": len(hostile.failed),
        "gateway_alive_and_ready": gateway_alive,
        "schemathesis_responses": sum(run.responses for run in fuzz),
    }
    summary["held"] = (
        summary["server_errors"] == 0
        and summary["schema_violations"] == 0
        and not summary["pii_leaks"]
        and summary["unauthenticated_reachable"] == 0
        and summary["keys_in_telemetry"] == 0
        and not summary["raw_customer_ids_in_telemetry"]
        and summary["hostile_failed"] == 0
        and gateway_alive
    )
    summary["detail"] = {
        "gateway_rss_mb": {
            "first": rss.first_mb and round(rss.first_mb, 1),
            "max": rss.max_mb and round(rss.max_mb, 1),
            "last": rss.last_mb and round(rss.last_mb, 1),
        }
        if rss
        else None,
        "auth": auth.summary(),
        "hostile": hostile.summary(),
        "pii": pii.summary() if pii else "skipped: no broker address",
        "schemathesis": {run.role: run.summary() for run in fuzz} or "skipped",
        "server_errors": server_errors[:10],
        "schema_violations": schema_violations[:10],
        "keys_in_telemetry": {name: places for name, places in keys_found.items()},
        "settings": target.settings,
    }
    return summary


@contextmanager
def _target(args: argparse.Namespace, work_dir: Path) -> Iterator[Target]:
    if args.url is None:
        _log(f"abuse: starting a stack on ports shifted by {args.port_offset}")
        with own_stack(work_dir, args.port_offset) as target:
            yield target
        return
    yield attached(
        args.url,
        args.client_key,
        args.operator_key,
        args.gateway_pid,
        args.log_dir,
        args.traces_dir,
        args.bootstrap_servers,
    )


def _ready(target: Target) -> bool:
    try:
        return httpx.get(f"{target.url}/readyz", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reliability.abuse", description=__doc__)
    own = parser.add_argument_group("own stack (default)")
    own.add_argument("--port-offset", type=int, default=3500)
    running = parser.add_argument_group("a running stack")
    running.add_argument("--url", help="the gateway, e.g. http://127.0.0.1:8080")
    running.add_argument("--client-key", help="default: $CAREPULSE_CLIENT_KEY")
    running.add_argument("--operator-key", help="default: $CAREPULSE_OPERATOR_KEY")
    running.add_argument("--gateway-pid", type=int, help="to sample its memory")
    running.add_argument("--log-dir", type=Path, help="the stack's *.log files")
    running.add_argument("--traces-dir", type=Path, help="the stack's span files (*.jsonl)")
    running.add_argument("--bootstrap-servers", help="Kafka, for the PII sweep")
    parser.add_argument("--schemathesis", type=Path, default=DEFAULT_SCHEMATHESIS)
    parser.add_argument("--fuzz-seconds", type=float, default=240)
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--skip-fuzz", action="store_true")
    parser.add_argument("--pii-per-kind", type=int, help="only the first N texts of each kind")
    parser.add_argument("--work-dir", help="default: a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, reports)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
