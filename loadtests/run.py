"""`python -m loadtests.run`: start a stack (or attach to one), run the Locust scenarios headless,
print a JSON summary last.

    python -m loadtests.run --locust .venv-loadtest/bin/locust     # what `make loadtest` runs
    LOADTEST_DURATION_S=600 make loadtest                          # a longer ramp
    CAREPULSE_BENCH_ATTACH=1 make loadtest                         # the running `make run`

Locust runs from its own virtualenv (loadtests/requirements.txt) with loadtests/locustfile.py,
whose RampToSaturation shape decides users and duration (LOADTEST_* variables pass through).
Its CSV files, HTML report and log go to --reports (default: a new folder in the temporary
directory), which is kept and named in the summary; the stack's own folder is removed. Our
own stack runs as `make run` does, except for rate limits far above the test's rates and
alert buckets of ALERT_BUCKET_SECONDS=5, so that the feed's storms raise alerts for the
operators within a short run.
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.system.report import Report
from benchmarks.system.target import SystemTarget, log, system_under_test
from reliability.harness import work_folder

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = REPO_ROOT / "loadtests" / "locustfile.py"
DEFAULT_LOCUST = REPO_ROOT / ".venv-loadtest" / "bin" / "locust"
OWN_STACK_SETTINGS = {"ALERT_BUCKET_SECONDS": "5"}
# Locust exits 1 when any request failed: a finished run all the same.
FINISHED = (0, 1)


def main() -> int:
    args = _parse_args()
    report = Report()
    reports = Path(args.reports or tempfile.mkdtemp(prefix="carepulse-loadtest-"))
    reports.mkdir(parents=True, exist_ok=True)
    with (
        work_folder(None, "carepulse-loadtest-stack-", keep=False) as work_dir,
        system_under_test(work_dir, args.port_offset, OWN_STACK_SETTINGS) as target,
    ):
        exit_code = run_locust(args.locust, target, reports, args.messages)
    summary = summarize(reports / "carepulse")
    summary |= {"locust_exit_code": exit_code, "reports": str(reports), "attached": target.attached}
    report.print_last(summary)
    return 0 if exit_code in FINISHED else 1


def run_locust(locust: Path, target: SystemTarget, reports: Path, messages: Path | None) -> int:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "LOADTEST_CLIENT_KEY": target.client_key,
        "LOADTEST_OPERATOR_KEY": target.operator_key,
    }
    if messages:
        env["LOADTEST_MESSAGES"] = str(messages.resolve())
    command = [
        str(locust),
        "--locustfile", str(LOCUSTFILE),
        "--headless",
        "--host", target.url,
        "--csv", str(reports / "carepulse"),
        "--csv-full-history",
        "--html", str(reports / "report.html"),
    ]  # fmt: skip
    log(f"locust: reports in {reports}")
    started = time.monotonic()
    with (reports / "locust.log").open("w") as output:
        completed = subprocess.run(
            command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, check=False
        )
    log(f"locust exited {completed.returncode} after {time.monotonic() - started:.0f}s")
    if completed.returncode not in FINISHED:
        log((reports / "locust.log").read_text(errors="replace")[-4000:])
    return completed.returncode


def summarize(prefix: Path) -> dict[str, Any]:
    """Per request name and in total: count, failures, percentiles (ms), rate; peak users."""
    stats = _rows(Path(f"{prefix}_stats.csv"))
    history = _rows(Path(f"{prefix}_stats_history.csv"))
    requests = {
        f"{row['Type']} {row['Name']}".strip(): {
            "count": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "p50_ms": _number(row["50%"]),
            "p95_ms": _number(row["95%"]),
            "p99_ms": _number(row["99%"]),
            "max_ms": _number(row["Max Response Time"]),
            "per_s": _number(row["Requests/s"]),
        }
        for row in stats
    }
    return {
        "requests": requests,
        "peak_users": max((int(row["User Count"]) for row in history), default=0),
        "peak_per_s": max(
            (_number(row["Requests/s"]) or 0.0 for row in history if row["Name"] == "Aggregated"),
            default=0.0,
        ),
    }


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def _number(value: str) -> float | None:
    """Locust writes "N/A" where it has no figure."""
    try:
        return round(float(value), 1)
    except ValueError:
        return None


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtests.run", description=__doc__)
    parser.add_argument("--locust", type=Path, default=DEFAULT_LOCUST)
    parser.add_argument("--reports", help="where Locust's reports go (kept)")
    parser.add_argument("--messages", type=Path, help="CSV with a text column, or one a line")
    parser.add_argument("--port-offset", type=int, default=7500, help="of our own stack")
    args = parser.parse_args()
    if not args.locust.is_file():
        parser.error(f"{args.locust} not found; `make loadtest` creates it")
    return args


if __name__ == "__main__":
    sys.exit(main())
