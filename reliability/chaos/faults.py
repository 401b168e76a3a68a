"""The faults, each injected and then healed as the platform would, without a person."""

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from reliability.chaos.target import Target

# Longer than the producers' request timeout (min(30 s, delivery timeout 30 s / 2) = 15 s).
BROKER_PAUSE_S = 20.0
# Longer than the consumers' session timeout (10 s): the group rebalances without classify.
CONSUMER_PAUSE_S = 15.0
SLOW_FOR_S = 10.0
SLOW_CYCLE_S = (0.4, 0.2)  # stopped, then running, in turn
# Alert and recommend retry a database outage with backoff capped at 30 s; 20 s down is long
# enough for several retries, short enough to recover within the harness's bound.
DATABASE_DOWN_S = 20.0
# How long traffic meets a dead service before the "orchestrator" restarts it.
DOWN_S = 3.0


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    # Called with the stack and a hook to run right before the fault lands (a last scrape of
    # counters the fault will reset).
    inject_and_heal: Callable[[Target, Callable[[], None]], None]


def kill_and_restart(name: str) -> Fault:
    def run(target: Target, before: Callable[[], None]) -> None:
        before()
        target.stack.kill(name)
        time.sleep(DOWN_S)
        target.stack.restart(name, timeout_s=180)

    return Fault(f"kill -9 {name}", f"SIGKILL {name}, restarted after {DOWN_S:g}s", run)


def _paused(pid: int | None, seconds: float) -> None:
    if pid is None:
        raise RuntimeError("process not running")
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)


def pause_broker(target: Target, before: Callable[[], None]) -> None:
    before()
    _paused(target.stack.broker.pid, BROKER_PAUSE_S)


def restart_broker(target: Target, before: Callable[[], None]) -> None:
    before()
    target.stack.broker.stop()
    target.stack.broker.start(timeout_s=120)


def pause_classify(target: Target, before: Callable[[], None]) -> None:
    before()
    _paused(target.stack.processes["classify"].pid, CONSUMER_PAUSE_S)


def slow_classify(target: Target, before: Callable[[], None]) -> None:
    before()
    stopped_s, running_s = SLOW_CYCLE_S
    deadline = time.monotonic() + SLOW_FOR_S
    while time.monotonic() < deadline:
        _paused(target.stack.processes["classify"].pid, stopped_s)
        time.sleep(running_s)


def database_down(target: Target, before: Callable[[], None]) -> None:
    before()
    target.postgres.stop()
    try:
        time.sleep(DATABASE_DOWN_S)
    finally:
        target.postgres.start()


def all_faults() -> list[Fault]:
    kills = [kill_and_restart(n) for n in ("ingest", "classify", "recommend", "alert", "gateway")]
    return [
        *kills,
        Fault(
            "broker paused", f"SIGSTOP the broker {BROKER_PAUSE_S:g}s, then SIGCONT", pause_broker
        ),
        Fault("broker restarted", "stop the broker, start it on the same data dir", restart_broker),
        Fault(
            "classify paused",
            f"SIGSTOP classify {CONSUMER_PAUSE_S:g}s (past its 10 s session timeout)",
            pause_classify,
        ),
        Fault(
            "database down",
            f"stop alert's and recommend's PostgreSQL {DATABASE_DOWN_S:g}s, then start it",
            database_down,
        ),
        Fault(
            "classify slow",
            f"SIGSTOP/SIGCONT classify {SLOW_CYCLE_S[0]:g}s/{SLOW_CYCLE_S[1]:g}s"
            f" for {SLOW_FOR_S:g}s",
            slow_classify,
        ),
    ]
