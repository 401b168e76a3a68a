"""The whole system as local processes: Kafka, the four services and the gateway."""

import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from local.broker import BrokerPorts, KafkaBroker
from local.processes import ManagedProcess
from local.run_record import check_ports_free
from servicekit.kafka.topics import carepulse_topics, ensure_topics

REPO_ROOT = Path(__file__).resolve().parent.parent
GRPC_SERVICES = ("ingest", "classify", "recommend", "alert")


@dataclass(frozen=True)
class StackPorts:
    kafka: BrokerPorts = field(default_factory=BrokerPorts)
    grpc: Mapping[str, int] = field(
        default_factory=lambda: {
            "ingest": 50051,
            "classify": 50052,
            "recommend": 50053,
            "alert": 50054,
        }
    )
    gateway: int = 8080
    metrics_base: int = 9101  # ingest, classify, recommend, alert, gateway in that order

    @classmethod
    def shifted(cls, offset: int) -> "StackPorts":
        """The same layout moved by `offset`, so tests run beside a `make run`."""
        base = cls()
        return cls(
            kafka=BrokerPorts(base.kafka.port + offset, base.kafka.controller_port + offset),
            grpc={name: port + offset for name, port in base.grpc.items()},
            gateway=base.gateway + offset,
            metrics_base=base.metrics_base + offset,
        )

    def named(self) -> dict[str, int]:
        """Every port the stack listens on, by what listens there."""
        ports = {"kafka": self.kafka.port, "kafka controller": self.kafka.controller_port}
        for name in GRPC_SERVICES:
            ports[f"{name} gRPC"] = self.grpc[name]
        for name in GRPC_SERVICES:  # the gateway serves /metrics on its own port
            ports[f"{name} metrics"] = self.metrics(name)
        ports["gateway"] = self.gateway
        return ports

    def metrics(self, name: str) -> int:
        return self.metrics_base + [*GRPC_SERVICES, "gateway"].index(name)

    def address(self, name: str) -> str:
        return f"127.0.0.1:{self.grpc[name]}"


class Stack:
    def __init__(
        self,
        data_dir: Path,
        ports: StackPorts,
        env: Mapping[str, str],
        log_dir: Path | None = None,
        traces_dir: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.traces_dir = traces_dir
        self.ports = ports
        self._env = dict(env)
        self._log_dir = log_dir
        if log_dir:
            log_dir.mkdir(parents=True, exist_ok=True)
        self.broker = KafkaBroker(data_dir / "kafka", ports.kafka, self._log("kafka"))
        self.processes: dict[str, ManagedProcess] = {
            name: self._service_process(name, index + 1)
            for index, name in enumerate([*GRPC_SERVICES, "gateway"])
        }

    @property
    def log_dir(self) -> Path | None:
        """Where each process's output goes, as `<name>.log`; None: to this process's stdout."""
        return self._log_dir

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def start(self, timeout_s: float = 180) -> None:
        self.broker.start()
        ensure_topics(self.broker.bootstrap_servers, carepulse_topics())
        for process in self.processes.values():
            process.start()
        self.wait_ready(list(self.processes), timeout_s)

    def pids(self) -> dict[str, int]:
        """The running children by name: the broker and each service."""
        children = {"kafka": self.broker.pid, **{n: p.pid for n, p in self.processes.items()}}
        return {name: pid for name, pid in children.items() if pid is not None}

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            process.terminate()
        self.broker.stop()

    def kill(self, name: str) -> None:
        """SIGKILL one service: no shutdown hooks run, as in a crash."""
        self.processes[name].kill()

    def restart(self, name: str, timeout_s: float = 180) -> None:
        self.processes[name].kill()
        self.processes[name].start()
        self.wait_ready([name], timeout_s)

    def wait_ready(self, names: list[str], timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        pending = list(names)
        while pending:
            for name in list(pending):
                process = self.processes[name]
                if not process.running():
                    raise RuntimeError(f"{name} exited with code {process.exit_code()}")
                if self._ready(name):
                    pending.remove(name)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s}s: {', '.join(pending)}")
            time.sleep(0.5)

    def _ready(self, name: str) -> bool:
        if name == "gateway":
            # Ready, and reaching every upstream over its own channels (not only "degraded"):
            # the first request after start must not meet a channel still connecting.
            try:
                answer = httpx.get(f"{self.gateway_url}/readyz", timeout=2)
            except httpx.HTTPError:
                return False
            return answer.status_code == 200 and answer.json().get("status") == "ready"
        with grpc.insecure_channel(self.ports.address(name)) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
            except grpc.RpcError:
                return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def _service_process(self, name: str, color: int) -> ManagedProcess:
        module = "gateway" if name == "gateway" else f"services.{name}"
        return ManagedProcess(
            name,
            [sys.executable, "-m", module],
            env=self._service_env(name),
            cwd=REPO_ROOT,
            log_file=self._log(name),
            color_index=color,
        )

    def _service_env(self, name: str) -> dict[str, str]:
        prefix = name.upper()
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow's C++ start-up chatter
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            f"{prefix}_METRICS_PORT": str(self.ports.metrics(name)),
        }
        if name == "gateway":
            env["GATEWAY_PORT"] = str(self.ports.gateway)
            for upstream in GRPC_SERVICES:
                env[f"GATEWAY_{upstream.upper()}_ADDR"] = self.ports.address(upstream)
        else:
            env[f"{prefix}_GRPC_PORT"] = str(self.ports.grpc[name])
            env[f"{prefix}_SQLITE_PATH"] = str(self.data_dir / f"{name}.db")
        if name == "recommend":
            # Classify embeds the knowledge base: recommend turns ready only after classify.
            env["RECOMMEND_CLASSIFY_ADDR"] = self.ports.address("classify")
        if self.traces_dir:
            # One file per process: concurrent appends from several writers could interleave.
            env["CAREPULSE_TRACES_FILE"] = str(self.traces_dir / f"{name}.jsonl")
        env.update(self._env)
        return env

    def _log(self, name: str) -> Path | None:
        return self._log_dir / f"{name}.log" if self._log_dir else None


@contextmanager
def running_stack(
    work_dir: Path,
    ports: StackPorts,
    env: Mapping[str, str],
    timeout_s: float = 300,
    *,
    span_files: bool = True,
) -> Iterator[Stack]:
    """A started stack with its data, logs and span files under `work_dir`; stopped after.

    What the tests and the reliability harnesses run. Busy ports are refused first: a stack
    already there would answer in place of this one, with other keys. A start that fails
    prints the end of every process's log. Span files cost every process a synchronous JSON
    write per span, which `make run` does not pay: benchmarks of speed go without them.
    """
    check_ports_free(ports.named())
    traces_dir = work_dir / "traces" if span_files else None
    stack = Stack(work_dir / "data", ports, env, log_dir=work_dir / "logs", traces_dir=traces_dir)
    try:
        try:
            stack.start(timeout_s=timeout_s)
        except Exception:
            print_log_tails(work_dir / "logs")
            raise
        yield stack
    finally:
        stack.stop()


def print_log_tails(log_dir: Path, lines: int = 40) -> None:
    for log in sorted(log_dir.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- {log.name} (last {len(tail)} lines)\n" + "\n".join(tail))
