import json
from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from servicekit.grpc.client import _service_config, open_channel


def test_retry_policy_names_only_the_idempotent_methods() -> None:
    config = json.loads(_service_config(["carepulse.v1.ClassifyService/Classify"]))

    (method_config,) = config["methodConfig"]
    assert method_config["name"] == [
        {"service": "carepulse.v1.ClassifyService", "method": "Classify"}
    ]
    policy = method_config["retryPolicy"]
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert 1 < policy["maxAttempts"] <= 5


def test_no_retry_methods_means_no_retry_policy() -> None:
    assert "methodConfig" not in json.loads(_service_config([]))


class CountingHealth(health.HealthServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def Check(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls += 1
        return super().Check(request, context)


def test_calls_are_spread_over_every_address_the_target_resolves_to() -> None:
    servers, counters, ports = [], [], []
    for _ in range(2):
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        counter = CountingHealth()
        health_pb2_grpc.add_HealthServicer_to_server(counter, server)
        ports.append(server.add_insecure_port("127.0.0.1:0"))
        server.start()
        servers.append(server)
        counters.append(counter)
    # Two addresses behind one name, as a headless Service's DNS answer gives.
    target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)
    channel = open_channel(target)
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        for _ in range(20):
            stub.Check(health_pb2.HealthCheckRequest(), timeout=5, wait_for_ready=True)
    finally:
        channel.close()
        for server in servers:
            server.stop(grace=None)

    assert all(counter.calls >= 5 for counter in counters), [c.calls for c in counters]
