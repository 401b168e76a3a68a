"""schemathesis against the gateway's OpenAPI document, once per role, every operation of that
role, with its examples, coverage, fuzzing and stateful phases (the stateful phase follows the
resources it infers: a chat's message_id into feedback, an alert's id into its ack).

schemathesis lives in its own virtualenv (`.venv-abuse`, reliability/abuse/requirements.txt):
it is driven through its CLI, and its NDJSON event log is read back, every response counted.
"""

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from reliability.abuse.hostile import DOCUMENTED_5XX
from reliability.abuse.target import Target

# Checks whose failure means a response the OpenAPI document does not describe.
CONFORMANCE_CHECKS = frozenset(
    {
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    }
)
# Which operations each role's run covers: its own routes, plus the open probes once.
ROLE_PATHS = {
    "client": r"^/(v1/(chat|messages|feedback)|healthz|readyz|metrics)$",
    "operator": r"^/v1/alerts",
}
_CONFIG = """\
headers = {{ "X-API-Key" = "${{CAREPULSE_ABUSE_KEY}}" }}
request-timeout = 15
continue-on-failure = true
# An alert stream is read up to its first event, or for 1 s when nothing happens.
max-stream-events = 1
workers = {workers}

[generation]
max-examples = {max_examples}
database = "none"

[checks.not_a_server_error]
# Overload (503) and upstream deadlines (504) are documented answers, with Retry-After;
# the harness counts any other 5xx itself, from every response.
expected-statuses = ["1XX", "2XX", "3XX", "4XX", "503", "504"]

[[operations]]
include-path = "/v1/alerts/stream"
request-timeout = 1
"""
COMPLAINT = "My card payment was declined again and nobody helps me, this is unacceptable"


@dataclass
class RoleRun:
    role: str
    seconds: float = 0
    exit_code: int | None = None
    responses: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    schema_violations: list[str] = field(default_factory=list)
    # Every other check schemathesis runs (negative data accepted, ignored auth, ...).
    other_failures: Counter[str] = field(default_factory=Counter)
    operations: list[str] = field(default_factory=list)
    stateful_transitions: int = 0
    seed: str | None = None
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds),
            "exit_code": self.exit_code,
            "seed": self.seed,
            "operations": self.operations,
            "responses": self.responses,
            "statuses": dict(sorted(self.statuses.items())),
            "server_errors": self.server_errors[:10],
            "schema_violations": self.schema_violations[:10],
            "other_check_failures": dict(self.other_failures),
            "stateful_transitions": self.stateful_transitions,
            "errors": self.errors[:5],
        }


def run_schemathesis(
    target: Target,
    schemathesis: Path,
    work_dir: Path,
    seconds: float,
    max_examples: int = 50,
    workers: int = 2,
    log: Callable[[str], None] = print,
) -> list[RoleRun]:
    """Each role's run within its share of `seconds` (client 55%, operator 45%)."""
    config = work_dir / "schemathesis.toml"
    config.write_text(_CONFIG.format(max_examples=max_examples, workers=workers))
    runs = []
    for role, share in (("client", 0.55), ("operator", 0.45)):
        key = target.client_key if role == "client" else target.operator_key
        run = _run_role(target, schemathesis, config, work_dir, role, key, seconds * share)
        log(
            f"  schemathesis {role}: {run.responses} responses in {run.seconds:.0f}s,"
            f" {len(run.server_errors)} server errors,"
            f" {len(run.schema_violations)} schema violations"
        )
        runs.append(run)
    return runs


def _run_role(
    target: Target,
    schemathesis: Path,
    config: Path,
    work_dir: Path,
    role: str,
    key: str,
    seconds: float,
) -> RoleRun:
    run = RoleRun(role)
    reports = work_dir / f"schemathesis-{role}"
    command = [
        str(schemathesis.resolve()),
        "--config-file",
        str(config),
        "run",
        f"{target.url}/openapi.json",
        "--include-path-regex",
        ROLE_PATHS[role],
        "--checks",
        "all",
        "--max-time",
        str(max(1, int(seconds))),
        "--report",
        "json,ndjson",
        "--report-dir",
        str(reports),
        "--no-color",
    ]
    # The key travels in the environment, not on a command line other users can read.
    env = {**os.environ, "CAREPULSE_ABUSE_KEY": key}
    started = time.monotonic()
    completed = subprocess.run(
        command,
        cwd=work_dir,
        env=env,
        stdout=(work_dir / f"schemathesis-{role}.out").open("w"),
        stderr=subprocess.STDOUT,
        timeout=seconds + 120,
        check=False,
    )
    run.seconds = time.monotonic() - started
    run.exit_code = completed.returncode
    for ndjson in sorted(reports.glob("ndjson-*.ndjson")):
        _read_events(ndjson, run)
    for report in sorted(reports.glob("json-*.json")):
        summary = json.loads(report.read_text())
        run.seed = str(summary.get("seed"))
        run.errors += [json.dumps(error)[:300] for error in summary.get("errors", [])]
    if not run.responses:
        run.errors.append(f"no responses recorded; see {work_dir}/schemathesis-{role}.out")
    return run


def _read_events(ndjson: Path, run: RoleRun) -> None:
    operations = set()
    with ndjson.open(encoding="utf-8") as events:
        for line in events:
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if finished is None:
                continue
            recorder = finished.get("recorder", {})
            operations.add(recorder.get("label", "?"))
            cases = recorder.get("cases", {})
            for case_id, interaction in recorder.get("interactions", {}).items():
                _count_response(run, interaction)
                if cases.get(case_id, {}).get("is_transition_applied"):
                    run.stateful_transitions += 1
            for checks in recorder.get("checks", {}).values():
                for check in checks:
                    if check.get("status") != "failure":
                        continue
                    failure = (check.get("failure_info") or {}).get("failure", {})
                    description = (
                        f"{failure.get('operation')}: {failure.get('code')} "
                        f"{failure.get('title')}: {str(failure.get('message'))[:200]}"
                    )
                    if check["name"] in CONFORMANCE_CHECKS:
                        run.schema_violations.append(description)
                    elif check["name"] != "not_a_server_error":
                        run.other_failures[check["name"]] += 1
    run.operations = sorted(operations | set(run.operations))


def _count_response(run: RoleRun, interaction: dict[str, Any]) -> None:
    response = interaction.get("response")
    if not response:
        return
    status = int(response["status_code"])
    run.responses += 1
    run.statuses[status] += 1
    headers = {name.lower() for name in response.get("headers", {})}
    if status >= 500 and not (status in DOCUMENTED_5XX and "retry-after" in headers):
        request = interaction.get("request", {})
        run.server_errors.append(f"{request.get('method')} {request.get('uri')}: {status}")


def send_complaints(target: Target) -> str | None:
    """A burst of complaints on one topic, so that the operator run has a real alert to list,
    stream and acknowledge; the topic, or None if the chat that names it failed."""
    client = {"X-API-Key": target.client_key}
    with httpx.Client(base_url=target.url, headers=client, timeout=30) as http:
        body = {"conversation_id": "abuse-seed", "customer_id": "abuse-seed", "text": COMPLAINT}
        probe = http.post("/v1/chat", json=body)
        if probe.status_code != 200:
            return None
        burst = [{**body, "conversation_id": f"abuse-seed-{i}"} for i in range(40)]
        http.post("/v1/messages", json={"messages": burst})
    return str(probe.json()["intent"])


def wait_for_alert(target: Target, topic: str, timeout_s: float) -> str | None:
    """The id of an alert on `topic`, or None if none opened within the timeout."""
    operator = {"X-API-Key": target.operator_key}
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=target.url, headers=operator, timeout=30) as http:
        while True:
            page = http.get("/v1/alerts", params={"topic": topic})
            if page.status_code == 200 and page.json()["alerts"]:
                return str(page.json()["alerts"][0]["alert_id"])
            if time.monotonic() > deadline:
                return None
            time.sleep(1)
