"""`make run`: start Kafka and every service, print where to reach them, stop on Ctrl-C."""

import logging
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from local.observability import ObservabilityBackends, ObservabilityPorts
from local.run_record import PortsInUse, RunRecord, StackAlreadyRunning, check_ports_free
from local.stack import REPO_ROOT, Stack, StackPorts

ENV_FILE = REPO_ROOT / ".env.local"
DATA_DIR = Path(os.environ.get("CAREPULSE_DATA_DIR", REPO_ROOT / ".data"))
# The API keys, and the key every service hashes customer ids with for telemetry.
KEY_NAMES = ("CAREPULSE_CLIENT_KEY", "CAREPULSE_OPERATOR_KEY", "CAREPULSE_PSEUDONYM_KEY")
# Moves every port by this much, for a second stack beside a running one (or a test).
PORT_OFFSET = int(os.environ.get("CAREPULSE_PORT_OFFSET", "0"))
# The collector, Zipkin, Prometheus and Alertmanager start beside the services when present
# (`make observability`); `--no-observability` or CAREPULSE_OBSERVABILITY=0 leaves them out.
OBSERVABILITY = os.environ.get("CAREPULSE_OBSERVABILITY", "1").lower() not in ("0", "off", "false")


def load_or_create_keys() -> dict[str, str]:
    """Keys from the environment, else from .env.local, else generated once into it."""
    stored: dict[str, str] = {}
    if ENV_FILE.exists():
        for line in ENV_FILE.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep:
                stored[name.strip()] = value.strip()
    keys = {name: os.environ.get(name) or stored.get(name) or "" for name in KEY_NAMES}
    if not all(stored.get(name) for name in KEY_NAMES):
        for name in KEY_NAMES:
            keys[name] = keys[name] or f"cp_{secrets.token_urlsafe(24)}"
        ENV_FILE.write_text("".join(f"{name}={keys[name]}\n" for name in KEY_NAMES))
        ENV_FILE.chmod(0o600)
    return keys


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ports = StackPorts.shifted(PORT_OFFSET)
    backends = None
    if OBSERVABILITY and "--no-observability" not in sys.argv[1:]:
        backends = ObservabilityBackends(
            DATA_DIR / "observability", ObservabilityPorts.shifted(PORT_OFFSET), ports
        )
    record = RunRecord(DATA_DIR)
    try:
        for leftover in record.clear_stale():
            print(
                f"a previous run ended without stopping {leftover.name} (pid {leftover.pid});"
                " stopped it",
                file=sys.stderr,
            )
        check_ports_free({**ports.named(), **(backends.listening_ports() if backends else {})})
    except (StackAlreadyRunning, PortsInUse) as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return 1
    keys = load_or_create_keys()
    env = dict(keys)
    if backends and backends.otlp_endpoint:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = backends.otlp_endpoint
        env["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment=local"
        # Logs too (traces and metrics follow the endpoint): the collector writes each record,
        # past its PII processors, to its own log; stdout keeps every service's JSON lines.
        env["OTEL_LOGS_EXPORTER"] = "otlp"
    if backends and "zipkin" in backends.urls():
        # The console links an alert's example messages to their traces there.
        env["GATEWAY_CONSOLE_TRACE_URL"] = backends.urls()["zipkin"] + "traces/{trace_id}"
    stack = Stack(DATA_DIR, ports, env=env)
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        if backends:
            backends.start()
        stack.start()
        if backends:
            backends.wait_ready()
        record.write(os.getpid(), {**stack.pids(), **(backends.pids() if backends else {})})
        print(
            "\nCarePulse is ready.\n"
            f"  gateway:       {stack.gateway_url}   (OpenAPI: {stack.gateway_url}/docs)\n"
            f"  console:       {stack.gateway_url}/console/   (agent and operator views)\n"
            f"  client key:    {keys['CAREPULSE_CLIENT_KEY']}\n"
            f"  operator key:  {keys['CAREPULSE_OPERATOR_KEY']}\n"
            f"  (keys are in {ENV_FILE.name}; state in {DATA_DIR})\n"
            + _observability_lines(backends)
            + "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping.wait(1):
            crashed = [p.name for p in stack.processes.values() if not p.running()]
            if not stack.broker.running():
                crashed.insert(0, "kafka")
            if backends:
                crashed += [name for name in backends.backends if name not in backends.running()]
            if crashed:
                print(f"stopping: {', '.join(crashed)} exited", file=sys.stderr)
                return 1
        return 0
    finally:
        stack.stop()
        if backends:
            backends.stop()
        record.remove()


def _observability_lines(backends: ObservabilityBackends | None) -> str:
    if backends is None:
        return "  observability: off\n"
    titles = {
        "zipkin": ("traces:", "Zipkin"),
        "prometheus": ("metrics:", "Prometheus"),
        "alertmanager": ("alerts:", "Alertmanager"),
        "collector": ("collector:", "OpenTelemetry, OTLP/gRPC"),
    }
    urls = backends.urls()
    lines = [
        f"  {title:<15}{urls[name]}   ({what})\n"
        for name, (title, what) in titles.items()
        if name in urls
    ]
    if "collector" in urls:
        lines.append(f"  {'logs:':<15}{backends.log_file('collector')}   (OTLP, as exported)\n")
    if backends.missing:
        lines.append(f"  not started:   {', '.join(backends.missing)} (run `make observability`)\n")
    return "".join(lines)


if __name__ == "__main__":
    sys.exit(main())
