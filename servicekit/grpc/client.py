"""Client channels: keepalive, size limits, tracing, and bounded retries for idempotent calls.

Deadlines are the caller's: every stub call passes `timeout=`.
"""

import json
from collections.abc import Sequence

import grpc
from opentelemetry.instrumentation.grpc import client_interceptor
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel

from servicekit.grpc.options import COMMON_OPTIONS


def _service_config(retry_methods: Sequence[str]) -> str:
    """Round-robin over every address the target resolves to, and gRPC's built-in retry
    policy for the named `package.Service/Method`s.

    Behind a headless Kubernetes Service the name resolves to every ready pod: round-robin
    spreads calls over all of them, where the default (pick_first) would send every call of
    this client to one pod for the life of the connection. With one address it is the same.
    """
    config: dict[str, object] = {"loadBalancingConfig": [{"round_robin": {}}]}
    names = []
    for method in retry_methods:
        service, _, name = method.partition("/")
        names.append({"service": service, "method": name})
    if names:
        config["methodConfig"] = [
            {
                "name": names,
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    return json.dumps(config)


def open_channel(
    target: str, *, retry_methods: Sequence[str] = (), traced: bool = True
) -> grpc.Channel:
    """An insecure channel (mTLS is the mesh's job in Kubernetes) with tracing and retries.

    `traced=False` leaves out OpenTelemetry's interceptor, whose wrapper of a response stream
    hides the call's initial metadata; such a caller traces its calls itself.
    """
    options: list[tuple[str, int | str]] = [
        *COMMON_OPTIONS,
        ("grpc.enable_retries", 1),
        ("grpc.service_config", _service_config(retry_methods)),
        # round_robin connects to every address at once; an upstream that starts (or restarts)
        # later is retried within seconds, not after gRPC's default backoff of up to 2 minutes.
        ("grpc.initial_reconnect_backoff_ms", 250),
        ("grpc.max_reconnect_backoff_ms", 5_000),
    ]
    channel = grpc.insecure_channel(target, options=options)
    if not traced:
        return channel
    # OpenTelemetry's interceptor speaks its own grpcext interface, not grpc.intercept_channel's.
    intercepted: grpc.Channel = intercept_channel(channel, client_interceptor())  # type: ignore[no-untyped-call]
    return intercepted
