"""The observability backends as local processes: collector, Zipkin, Prometheus, Alertmanager.

`make observability` builds or fetches them into the user cache (Prometheus and Alertmanager
are Debian's packages); `make run` starts whichever are present beside the services, and the
tests start them all. Each listens on loopback only, on ports moved by the stack's offset.
"""

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from local.observability.prometheus import prometheus_config
from local.processes import ManagedProcess
from local.stack import StackPorts
from servicekit.cache import user_cache_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTOR_DIR = REPO_ROOT / "observability" / "collector"
ALERTMANAGER_CONFIG = REPO_ROOT / "observability" / "alertmanager" / "alertmanager.yml"
# The release of every collector module (observability/collector/builder-config.yaml).
COLLECTOR_VERSION = "0.148.0"
ZIPKIN_VERSION = "3.5.1"


def collector_binary() -> Path:
    """Where `make observability` builds the collector ($CAREPULSE_OTELCOL overrides)."""
    configured = os.environ.get("CAREPULSE_OTELCOL")
    if configured:
        return Path(configured)
    cache = user_cache_dir() / "observability"
    return cache / f"otelcol-{COLLECTOR_VERSION}" / "carepulse-otelcol"


def zipkin_jar() -> Path:
    cache = user_cache_dir() / "observability"
    return cache / f"zipkin-{ZIPKIN_VERSION}" / f"zipkin-server-{ZIPKIN_VERSION}-exec.jar"


def system_binary(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


@dataclass(frozen=True)
class ObservabilityPorts:
    otlp_grpc: int = 4317
    otlp_http: int = 4318
    collector_telemetry: int = 8888
    collector_metrics: int = 8889  # span metrics for Prometheus
    zipkin: int = 9411
    prometheus: int = 9090
    alertmanager: int = 9095  # not 9093: the local Kafka controller listens there

    @classmethod
    def shifted(cls, offset: int) -> "ObservabilityPorts":
        base = cls()
        return cls(**{name: port + offset for name, port in vars(base).items()})


@dataclass(frozen=True)
class Backend:
    name: str
    url: str  # what a person opens (the collector: its OTLP address)
    ready_url: str  # answers 200 once ready
    process: ManagedProcess


class ObservabilityBackends:
    """Starts the backends whose binaries are present; `missing` says which are not."""

    def __init__(
        self,
        work_dir: Path,
        ports: ObservabilityPorts,
        stack_ports: StackPorts,
        *,
        scrape_interval_s: float = 15,
    ) -> None:
        self.ports = ports
        self._work_dir = work_dir
        self._logs = work_dir / "logs"
        self.missing: dict[str, str] = {}
        self.backends: dict[str, Backend] = {}
        candidates: list[tuple[str, Path | None, str, Callable[[], Backend]]] = [
            ("zipkin", _java(zipkin_jar()), "make observability", self._zipkin),
            ("collector", _existing(collector_binary()), "make observability", self._collector),
            (
                "alertmanager",
                system_binary("prometheus-alertmanager"),
                "make observability (Debian's prometheus-alertmanager)",
                self._alertmanager,
            ),
            (
                "prometheus",
                system_binary("prometheus"),
                "make observability (Debian's prometheus)",
                lambda: self._prometheus(stack_ports, scrape_interval_s),
            ),
        ]
        for name, binary, how, make in candidates:
            if binary is None:
                self.missing[name] = how
            else:
                self.backends[name] = make()

    @property
    def otlp_endpoint(self) -> str | None:
        """For OTEL_EXPORTER_OTLP_ENDPOINT, when the collector runs."""
        return f"http://127.0.0.1:{self.ports.otlp_grpc}" if "collector" in self.backends else None

    def listening_ports(self) -> dict[str, int]:
        """The ports the present backends will listen on, by what listens there."""
        owners = {
            "collector": ("otlp_grpc", "otlp_http", "collector_telemetry", "collector_metrics"),
            "zipkin": ("zipkin",),
            "prometheus": ("prometheus",),
            "alertmanager": ("alertmanager",),
        }
        return {
            field.replace("_", " "): getattr(self.ports, field)
            for name in self.backends
            for field in owners[name]
        }

    def urls(self) -> dict[str, str]:
        return {name: backend.url for name, backend in self.backends.items()}

    def log_file(self, name: str) -> Path:
        """Where a backend writes its output; the collector's holds the OTLP logs it receives."""
        return self._logs / f"{name}.log"

    def pids(self) -> dict[str, int]:
        return {
            name: pid for name, b in self.backends.items() if (pid := b.process.pid) is not None
        }

    def start(self) -> None:
        """Starts every present backend without waiting; `wait_ready` waits."""
        self._logs.mkdir(parents=True, exist_ok=True)
        for backend in self.backends.values():
            backend.process.start()

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        pending = dict(self.backends)
        while pending:
            for name, backend in list(pending.items()):
                if not backend.process.running():
                    log = self.log_file(name)
                    raise RuntimeError(
                        f"{name} exited with {backend.process.exit_code()}; see {log}:\n"
                        + log.read_text(errors="replace")[-2000:]
                    )
                if _answers(backend.ready_url):
                    del pending[name]
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s}s: {', '.join(pending)}")
            time.sleep(0.5)

    def running(self) -> list[str]:
        return [name for name, b in self.backends.items() if b.process.running()]

    def stop(self) -> None:
        for backend in reversed(self.backends.values()):
            backend.process.terminate()

    def _process(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> ManagedProcess:
        return ManagedProcess(
            name,
            argv,
            env={**os.environ, **(env or {})},
            cwd=self._work_dir,
            log_file=self.log_file(name),
        )

    def _zipkin(self) -> Backend:
        port = self.ports.zipkin
        argv = [
            "java",
            "-Xms64m",
            "-Xmx384m",
            "-jar",
            str(zipkin_jar()),
            "--server.address=127.0.0.1",
            f"--server.port={port}",
        ]
        # In-memory storage: traces live as long as the process (MEM_MAX_SPANS, default 500k).
        process = self._process("zipkin", argv, {"STORAGE_TYPE": "mem"})
        url = f"http://127.0.0.1:{port}"
        return Backend("zipkin", f"{url}/zipkin/", f"{url}/health", process)

    def _collector(self) -> Backend:
        ports = self.ports
        argv = [
            str(collector_binary()),
            f"--config={COLLECTOR_DIR / 'config.yaml'}",
            f"--config={COLLECTOR_DIR / 'config.local.yaml'}",
        ]
        env = {
            "CAREPULSE_OTLP_GRPC_PORT": str(ports.otlp_grpc),
            "CAREPULSE_OTLP_HTTP_PORT": str(ports.otlp_http),
            "CAREPULSE_ZIPKIN_PORT": str(ports.zipkin),
            "CAREPULSE_COLLECTOR_METRICS_PORT": str(ports.collector_metrics),
            "CAREPULSE_COLLECTOR_TELEMETRY_PORT": str(ports.collector_telemetry),
        }
        ready = f"http://127.0.0.1:{ports.collector_telemetry}/metrics"
        otlp = f"127.0.0.1:{ports.otlp_grpc}"
        return Backend("collector", otlp, ready, self._process("collector", argv, env))

    def _prometheus(self, stack_ports: StackPorts, interval_s: float) -> Backend:
        port = self.ports.prometheus
        config = self._work_dir / "prometheus.yml"
        config.parent.mkdir(parents=True, exist_ok=True)
        alertmanager = self.ports.alertmanager if "alertmanager" in self.backends else None
        config.write_text(
            yaml.safe_dump(
                prometheus_config(
                    stack_ports,
                    collector_metrics_port=self.ports.collector_metrics,
                    collector_telemetry_port=self.ports.collector_telemetry,
                    prometheus_port=port,
                    alertmanager_port=alertmanager,
                    interval_s=interval_s,
                ),
                sort_keys=False,
            )
        )
        argv = [
            str(system_binary("prometheus")),
            f"--config.file={config}",
            f"--storage.tsdb.path={self._work_dir / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--enable-feature=exemplar-storage",
            "--storage.tsdb.retention.time=2d",
        ]
        url = f"http://127.0.0.1:{port}"
        return Backend("prometheus", url, f"{url}/-/ready", self._process("prometheus", argv))

    def _alertmanager(self) -> Backend:
        port = self.ports.alertmanager
        argv = [
            str(system_binary("prometheus-alertmanager")),
            f"--config.file={ALERTMANAGER_CONFIG}",
            f"--storage.path={self._work_dir / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # empty: no gossip, no peers
        ]
        url = f"http://127.0.0.1:{port}"
        return Backend("alertmanager", url, f"{url}/-/ready", self._process("alertmanager", argv))


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def _java(jar: Path) -> Path | None:
    return jar if jar.is_file() and shutil.which("java") else None


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
