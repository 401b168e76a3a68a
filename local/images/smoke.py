"""Runs the built images against a real Kafka broker and waits for each one's health check."""

import functools
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from local.broker import KafkaBroker
from local.images.podman import Podman
from local.images.targets import ImageTarget, run_argv, service_env
from local.stack import GRPC_SERVICES, StackPorts
from servicekit.kafka.topics import carepulse_topics, ensure_topics

CONTAINER_PREFIX = "carepulse-images-"
TOPICS_COMMAND = ("python", "-m", "servicekit.kafka.create_topics")


@dataclass
class SmokeResult:
    healthy: dict[str, bool] = field(default_factory=dict)  # by Dockerfile target
    gateway_readyz: int | None = None  # /readyz status once every service said SERVING
    topics_created_by: str = ""  # what ran the kafka-topics Job's command


def smoke_test(
    podman: Podman,
    targets: Sequence[ImageTarget],
    ports: StackPorts,
    work_dir: Path,
    timeout_s: float,
) -> SmokeResult:
    """Broker up, topics created, each image started and probed; everything removed afterwards."""
    result = SmokeResult()
    work_dir.mkdir(parents=True, exist_ok=True)
    broker = KafkaBroker(work_dir / "kafka", ports.kafka, work_dir / "kafka.log")
    containers: list[str] = []
    try:
        broker.start()
        result.topics_created_by = _create_topics(podman, targets, broker.bootstrap_servers)
        services = [t for t in targets if t.service != "gateway"]
        for target in services:
            env = service_env(target.service, ports, broker.bootstrap_servers, {})
            containers.append(_start(podman, target, env))
        deadline = time.monotonic() + timeout_s
        for target in services:
            address = ports.address(target.service)
            result.healthy[target.target] = _wait_until(
                podman, _name(target), functools.partial(_serving, address), deadline
            )
        gateway = next((t for t in targets if t.service == "gateway"), None)
        if gateway:
            upstreams = {t.service: ports.address(t.service) for t in services}
            env = service_env("gateway", ports, broker.bootstrap_servers, upstreams)
            # A key made for this run; it reaches the container by name, never in argv.
            key = {"CAREPULSE_CLIENT_KEY": f"cp_{secrets.token_urlsafe(24)}"}
            containers.append(_start(podman, gateway, env, key))
            url = f"http://127.0.0.1:{ports.gateway}"
            result.healthy[gateway.target] = _wait_until(
                podman, _name(gateway), lambda: _http_status(f"{url}/healthz") == 200, deadline
            )
            # /readyz needs every upstream; with a subset of images it cannot turn 200.
            if all(result.healthy.values()) and {t.service for t in services} == set(GRPC_SERVICES):
                _wait_until(
                    podman, _name(gateway), lambda: _http_status(f"{url}/readyz") == 200, deadline
                )
                result.gateway_readyz = _http_status(f"{url}/readyz")
        return result
    finally:
        failed = not (all(result.healthy.values()) and len(result.healthy) == len(targets))
        for container in containers:
            logs = podman.logs(container)
            (work_dir / f"{container}.log").write_text(logs)  # kept until the next run
            if failed:
                print(f"---- logs of {container} ----\n{logs}", flush=True)
        for container in reversed(containers):
            podman.remove(container)
        broker.stop()


def _create_topics(podman: Podman, targets: Sequence[ImageTarget], bootstrap: str) -> str:
    """As the k8s `kafka-topics` Job does it (the ingest image's command), when ingest is built."""
    ingest = next((t for t in targets if t.service == "ingest"), None)
    if ingest is None:
        ensure_topics(bootstrap, carepulse_topics())
        return "host"
    name = f"{CONTAINER_PREFIX}kafka-topics"
    podman.remove(name)  # a leftover of an interrupted run
    podman.run(
        run_argv(name, ingest.tag, {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}, command=TOPICS_COMMAND)
    )
    try:
        exit_code = podman.run(["wait", name]).strip()
        if exit_code != "0":
            raise RuntimeError(f"creating topics exited with {exit_code}:\n{podman.logs(name)}")
    finally:
        podman.remove(name)
    return ingest.tag


def _start(
    podman: Podman,
    target: ImageTarget,
    env: Mapping[str, str],
    secret_env: Mapping[str, str] | None = None,
) -> str:
    name = _name(target)
    podman.remove(name)
    secret_env = secret_env or {}
    podman.run(run_argv(name, target.tag, env, pass_through=tuple(secret_env)), env=secret_env)
    return name


def _wait_until(podman: Podman, container: str, check: Callable[[], bool], deadline: float) -> bool:
    """True once `check` passes; False when the container exits or the deadline passes."""
    while time.monotonic() < deadline:
        if check():
            return True
        if not podman.running(container):
            return False
        time.sleep(1)
    return check()


def _serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=2
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _http_status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


def _name(target: ImageTarget) -> str:
    return f"{CONTAINER_PREFIX}{target.target}"
