"""`python -m reliability.chaos`: start a stack, inject each fault under traffic, JSON last.

    python -m reliability.chaos                              # every fault, ports +5500
    python -m reliability.chaos --faults "kill -9 alert,broker paused"

Progress goes to stderr; the last line of stdout is one JSON object. Exit status 0 when every
fault held: nothing lost, nothing counted twice, no alert fired twice, the stack recovered.
"""

import argparse
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from carepulse.v1 import events_pb2

from local.stack import Stack
from reliability.chaos.alert_counter import AlertCounter
from reliability.chaos.faults import Fault, all_faults
from reliability.chaos.tally import double_counted, duplicate_alerts, lost, p99
from reliability.chaos.target import SETTINGS, Target, own_stack
from reliability.chaos.topics import (
    alert_events,
    classified_ids,
    end_offsets,
    read_values,
    wait_classified,
)
from reliability.chaos.traffic import Traffic
from reliability.harness import finish, work_folder
from servicekit.kafka.topics import ALERTS, MESSAGES_CLASSIFIED

WARM_UP_S = 10.0


@dataclass
class Window:
    """One fault's phase: injected at `start`, healed at `healed`, settled at `end`."""

    fault: Fault
    start: float
    wall_start: float
    healed: float = 0.0
    end: float = 0.0
    wall_end: float = 0.0
    error: str | None = None
    recovered: bool = False
    recovery_s: float | None = None
    counted_before: int = 0
    counted_after: int = 0
    notes: list[str] = field(default_factory=list)


def main() -> int:
    args = _parse_args()
    started = time.monotonic()
    wanted = {name.strip() for name in args.faults.split(",")} if args.faults else None
    faults = [f for f in all_faults() if wanted is None or f.name in wanted]
    with work_folder(args.work_dir, "carepulse-chaos-", args.keep) as work_dir:
        _log(f"chaos: starting a stack on ports shifted by {args.port_offset} ({work_dir})")
        with own_stack(work_dir, args.port_offset) as target:
            summary = run(target, faults, args.recovery_timeout)
    return finish(summary, started)


def run(target: Target, faults: list[Fault], recovery_timeout_s: float) -> dict[str, Any]:
    stack = target.stack
    traffic = Traffic(stack.gateway_url, target.client_key, run_id=secrets.token_hex(4))
    windows: list[Window] = []
    with AlertCounter(stack) as counter:
        traffic.start()
        time.sleep(WARM_UP_S)
        _settle(traffic, counter, recovery_timeout_s)
        for fault in faults:
            window = Window(fault, time.monotonic(), time.time(), counted_before=counter.total)
            windows.append(window)
            _log(f"fault: {fault.name} ({fault.description})")
            try:
                fault.inject_and_heal(target, counter.sample_now)
            except Exception as error:  # reported in the summary; the next fault still runs
                window.error = f"{type(error).__name__}: {error}"
            window.healed = time.monotonic()
            window.recovered, window.recovery_s = _recover(stack, traffic, recovery_timeout_s)
            window.counted_after = _settle(traffic, counter, recovery_timeout_s)
            window.end, window.wall_end = time.monotonic(), time.time()
            _log(f"  healed in {window.healed - window.start:.1f}s, recovered: {window.recovered}")
        traffic.stop()
        counter.wait_for(_accepted_count(traffic), recovery_timeout_s)
        counted_total = counter.total
    _log("reading messages.classified and alerts from the beginning")
    bootstrap = stack.broker.bootstrap_servers
    classified = classified_ids(read_values(bootstrap, MESSAGES_CLASSIFIED))
    alert_values = read_values(bootstrap, ALERTS)
    return summarize(windows, traffic, set(classified), alert_values, counted_total)


def summarize(
    windows: list[Window],
    traffic: Traffic,
    classified: set[str],
    alert_values: list[bytes],
    counted_total: int,
) -> dict[str, Any]:
    answers, accepted = traffic.snapshot()
    events = alert_events(alert_values)
    opened_at = {
        e.alert.alert_id: e.alert.opened_at.ToDatetime(tzinfo=UTC).timestamp()
        for e in (events_pb2.AlertEvent.FromString(v) for v in alert_values)
    }
    per_fault: dict[str, Any] = {}
    for window in windows:
        ids = {i for a in accepted if window.start <= a.at < window.end for i in a.ids}
        during = [a for a in answers if window.start <= a.at <= window.healed]
        missing = lost(ids, classified)
        in_window = [
            (alert_id, state)
            for alert_id, state in events
            if window.wall_start <= opened_at[alert_id] < window.wall_end
        ]
        per_fault[window.fault.name] = {
            "accepted": len(ids),
            "classified": len(ids) - len(missing),
            "lost": len(missing),
            "double_counted": double_counted(
                window.counted_after - window.counted_before, len(ids) - len(missing)
            ),
            "duplicate_alerts": duplicate_alerts(in_window),
            "p99_s": _rounded(p99([a.latency_s for a in during])),
            "answers": len(during),
            "failed_answers": sum(1 for a in during if not 200 <= a.status < 300),
            "recovered": window.recovered,
            "recovery_s": _rounded(window.recovery_s),
            "fault_s": round(window.healed - window.start, 1),
            "error": window.error,
            "lost_ids": sorted(missing)[:5],
        }
    all_ids = {i for a in accepted for i in a.ids}
    all_lost = lost(all_ids, classified)
    totals = {
        "accepted": len(all_ids),
        "classified": len(all_ids) - len(all_lost),
        "lost": len(all_lost),
        "double_counted": double_counted(counted_total, len(classified)),
        "alert_counted": counted_total,
        "distinct_classified": len(classified),
        "duplicate_alerts": duplicate_alerts(events),
        "alerts_fired": len({a for a, state in events if state == "firing"}),
        "p99_s": _rounded(p99([a.latency_s for a in answers])),
        "answers": len(answers),
        "batches_given_up": traffic.given_up,
        "recovered": all(w.recovered for w in windows),
    }
    held = (
        totals["lost"] == 0
        and totals["double_counted"] == 0
        and totals["duplicate_alerts"] == 0
        and totals["recovered"]
        and all(f["double_counted"] == 0 for f in per_fault.values())
    )
    return {"faults": per_fault, "totals": totals, "held": held, "settings": SETTINGS}


def _recover(stack: Stack, traffic: Traffic, timeout_s: float) -> tuple[bool, float | None]:
    """Ready again and a new message classified end to end within `timeout_s`, unaided."""
    started = time.monotonic()
    try:
        stack.wait_ready(list(stack.processes), timeout_s)
    except (TimeoutError, RuntimeError) as error:
        _log(f"  not ready: {error}")
        return False, None
    bootstrap = stack.broker.bootstrap_servers
    since = end_offsets(bootstrap, MESSAGES_CLASSIFIED)
    probe = traffic.post_batch(["Is the service back? (probe)"])
    left = timeout_s - (time.monotonic() - started)
    if not probe or not wait_classified(bootstrap, probe, since, max(left, 1.0)):
        return False, None
    return True, time.monotonic() - started


def _settle(traffic: Traffic, counter: AlertCounter, timeout_s: float) -> int:
    """Pause traffic until the alert service has counted everything accepted so far."""
    traffic.pause()
    try:
        return counter.wait_for(_accepted_count(traffic), timeout_s)
    finally:
        traffic.resume()


def _accepted_count(traffic: Traffic) -> int:
    return len({i for a in traffic.snapshot()[1] for i in a.ids})


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reliability.chaos", description=__doc__)
    parser.add_argument("--port-offset", type=int, default=5500)
    parser.add_argument(
        "--faults",
        help="comma-separated names (default: all): " + ", ".join(f.name for f in all_faults()),
    )
    parser.add_argument("--recovery-timeout", type=float, default=120.0)
    parser.add_argument("--work-dir", help="default: a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, data)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
