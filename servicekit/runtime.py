"""Runs one service process: gRPC server, Kafka consumers, readiness, graceful shutdown.

SIGTERM (or Ctrl-C) → NOT_SERVING, consumers finish and commit their batch in flight, the gRPC
server drains, resources close; all within the grace period or the process exits hard.
"""

import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from servicekit.grpc.server import GrpcServer, Registration
from servicekit.kafka.consumer import ConsumerLoop
from servicekit.metrics import serve_metrics
from servicekit.readiness import Check, Readiness
from servicekit.settings import ServiceSettings
from servicekit.telemetry import TelemetryHandle

log = logging.getLogger(__name__)

EXIT_WORKER_FAILED = 1
EXIT_SHUTDOWN_TIMEOUT = 70


@dataclass
class ServiceSpec:
    name: str
    settings: ServiceSettings
    telemetry: TelemetryHandle
    service_names: Sequence[str] = ()
    registrations: Sequence[Registration] = ()
    consumers: Sequence[ConsumerLoop[Any]] = ()
    readiness_checks: Mapping[str, Check] = field(default_factory=dict)
    # Runs once the gRPC server listens (NOT_SERVING), before consumers start: model loading.
    startup: Callable[[], None] | None = None
    # Run in order after consumers and server have stopped: flush producers, close stores.
    closers: Sequence[Callable[[], None]] = ()


def run_service(spec: ServiceSpec) -> int:
    """Blocks until SIGTERM/SIGINT or a worker fails; returns the process exit code."""
    settings = spec.settings
    stopping = threading.Event()
    failed = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("shutdown requested", extra={"signal": signal.Signals(signum).name})
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    metrics = serve_metrics(settings.grpc_host, settings.metrics_port)
    server = GrpcServer(
        address=f"{settings.grpc_host}:{settings.grpc_port}",
        max_workers=settings.grpc_max_workers,
        max_concurrent_rpcs=settings.grpc_max_concurrent_rpcs,
        service_names=spec.service_names,
        registrations=spec.registrations,
    )
    server.start()
    log.info("listening", extra={"service": spec.name, "port": server.port})
    if spec.startup is not None:
        spec.startup()

    workers = [_start_worker(c, stopping, failed) for c in spec.consumers]
    workers_alive: Check = lambda: all(w.is_alive() for w in workers)  # noqa: E731
    readiness = Readiness({**spec.readiness_checks, "consumers": workers_alive}, server.set_serving)
    readiness.start()

    stopping.wait()
    _arm_hard_exit(settings.grace_period_s)
    readiness.stop()
    server.set_serving(False)
    for consumer in spec.consumers:
        consumer.stop()
    for worker in workers:
        worker.join(timeout=settings.grace_period_s)
    server.stop(grace_s=settings.grace_period_s / 2)
    for close in spec.closers:
        close()
    metrics.close()
    spec.telemetry.shutdown()
    log.info("stopped", extra={"service": spec.name})
    return EXIT_WORKER_FAILED if failed.is_set() else 0


def _start_worker(
    consumer: ConsumerLoop[Any], stopping: threading.Event, failed: threading.Event
) -> threading.Thread:
    def run() -> None:
        try:
            consumer.run()
        except Exception:
            # Crash-only: a broken consumer stops the process so its supervisor restarts it,
            # and uncommitted records are redelivered.
            log.exception("consumer failed", extra={"topic": consumer.topic})
            failed.set()
            stopping.set()

    thread = threading.Thread(target=run, name=f"consumer-{consumer.topic}")
    thread.start()
    return thread


def _arm_hard_exit(grace_period_s: float) -> None:
    def exit_now() -> None:
        log.error("shutdown exceeded the grace period; exiting", extra={"grace": grace_period_s})
        os._exit(EXIT_SHUTDOWN_TIMEOUT)

    timer = threading.Timer(grace_period_s + 2, exit_now)
    timer.daemon = True
    timer.start()
