"""A real single-node Apache Kafka broker (KRaft) assembled from Maven Central jars."""

import base64
import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from local.processes import ManagedProcess
from servicekit.cache import user_cache_dir

KAFKA_DIR = Path(__file__).parent / "kafka"
# `java` is started directly, not through Kafka's scripts (which read KAFKA_HEAP_OPTS): without
# a bound the JVM would size its heap to a quarter of the machine's memory. A laptop broker's
# traffic fits in 512 MB. On a laptop the broker shares its cores with the model: the C1 JIT
# alone (no C2 recompiles) and the serial collector cut its CPU per message from ~0.7 to ~0.4
# ms in `make bench-pipeline` (docs/performance.md).
BROKER_JVM_OPTIONS = ("-Xms64m", "-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def kafka_libs_dir() -> Path:
    """Where `make kafka` put the jars: $CAREPULSE_KAFKA_LIBS or the user cache."""
    configured = os.environ.get("CAREPULSE_KAFKA_LIBS")
    if configured:
        return Path(configured)
    version = re.search(r"<kafka.version>(.+)</kafka.version>", (KAFKA_DIR / "pom.xml").read_text())
    return user_cache_dir() / f"kafka-{version.group(1) if version else ''}" / "libs"


@dataclass(frozen=True)
class BrokerPorts:
    port: int = 9092
    controller_port: int = 9093

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


class KafkaBroker:
    def __init__(self, data_dir: Path, ports: BrokerPorts, log_file: Path | None = None) -> None:
        self._data_dir = data_dir
        self._ports = ports
        self._libs = kafka_libs_dir()
        if not (self._libs / ".complete").exists():
            raise FileNotFoundError(f"Kafka jars missing in {self._libs}: run `make kafka`")
        self._config = data_dir / "server.properties"
        self._process = ManagedProcess(
            "kafka",
            self._java("kafka.Kafka", str(self._config), jvm_options=BROKER_JVM_OPTIONS),
            env=dict(os.environ),
            cwd=data_dir,
            log_file=log_file,
        )

    @property
    def bootstrap_servers(self) -> str:
        return self._ports.bootstrap

    def start(self, timeout_s: float = 60) -> None:
        self._data_dir.mkdir(parents=True, exist_ok=True)
        log_dir = self._data_dir / "logs"
        self._config.write_text(
            Template((KAFKA_DIR / "server.properties").read_text()).substitute(
                port=self._ports.port,
                controller_port=self._ports.controller_port,
                log_dir=log_dir,
            )
        )
        if not (log_dir / "meta.properties").exists():
            self._format(log_dir)
        self._process.start()
        self._wait_listening(timeout_s)

    def stop(self) -> None:
        self._process.terminate(timeout_s=30)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def running(self) -> bool:
        return self._process.running()

    def _java(self, main_class: str, *args: str, jvm_options: Sequence[str] = ()) -> list[str]:
        log4j = KAFKA_DIR / "log4j2.properties"
        return [
            "java",
            *jvm_options,
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{self._libs}/*",
            main_class,
            *args,
        ]

    def _format(self, log_dir: Path) -> None:
        cluster_id = _kafka_uuid()
        subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
                "-c",
                str(self._config),
            ),
            check=True,
            capture_output=True,
        )

    def _wait_listening(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self._process.running():
                raise RuntimeError(f"Kafka exited with {self._process.exit_code()}")
            try:
                with socket.create_connection(("127.0.0.1", self._ports.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"Kafka not listening on {self._ports.port} after {timeout_s}s")


def _kafka_uuid() -> str:
    """A cluster id in Kafka's format: 16 random bytes, URL-safe base64 without padding.

    Like Kafka's own `Uuid.randomUuid`, never one that starts with "-": the storage tool's
    command line would read it as an option (1 id in 64 failed `format` before this).
    """
    while True:
        encoded = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not encoded.startswith("-"):
            return encoded
