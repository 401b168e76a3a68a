"""A gRPC server with real readiness (grpc.health.v1), reflection, tracing and metrics."""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import server_interceptor

from servicekit.grpc.metrics import MetricsInterceptor
from servicekit.grpc.options import SERVER_OPTIONS

Registration = Callable[[grpc.Server], None]

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class GrpcServer:
    """Starts NOT_SERVING; the service's readiness checks turn it SERVING."""

    def __init__(
        self,
        *,
        address: str,
        max_workers: int,
        service_names: Sequence[str],
        registrations: Sequence[Registration],
        max_concurrent_rpcs: int | None = None,
    ) -> None:
        # Calls beyond max_concurrent_rpcs (running + queued for a thread) are refused at once
        # with RESOURCE_EXHAUSTED, so overload sheds load instead of growing a queue that
        # only delivers answers after every caller's deadline.
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
            interceptors=[server_interceptor(), MetricsInterceptor()],  # type: ignore[no-untyped-call]
            options=SERVER_OPTIONS,
            maximum_concurrent_rpcs=max_concurrent_rpcs,
        )
        for register in registrations:
            register(self._server)
        self._health = health.HealthServicer(experimental_non_blocking=True)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        self._service_names = ["", *service_names]
        reflection.enable_server_reflection(
            [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], self._server
        )
        self.port = self._server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot listen on {address}")
        self.set_serving(False)

    def start(self) -> None:
        self._server.start()

    def set_serving(self, serving: bool) -> None:
        status = _SERVING if serving else _NOT_SERVING
        for name in self._service_names:
            self._health.set(name, status)

    def stop(self, grace_s: float) -> None:
        """Refuse new RPCs, let in-flight ones finish within the grace period."""
        self.set_serving(False)
        self._server.stop(grace_s).wait(grace_s + 1)
