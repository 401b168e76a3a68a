"""RED metrics for every gRPC method a server handles."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from prometheus_client import Counter, Histogram

from servicekit.metrics import trace_exemplar

HANDLED = Counter("carepulse_grpc_server_handled_total", "RPCs completed.", ["method", "code"])
LATENCY = Histogram(
    "carepulse_grpc_server_handling_seconds", "Time to complete an RPC.", ["method"]
)


class MetricsInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = continuation(details)
        if handler is None:
            return None
        method: str = details.method
        if handler.unary_unary:
            inner = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                start = time.perf_counter()
                try:
                    return inner(request, context)
                finally:
                    _observe(method, context, start)

            return grpc.unary_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                start = time.perf_counter()
                try:
                    yield from inner_stream(request, context)
                finally:
                    _observe(method, context, start)

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        return handler


def _observe(method: str, context: grpc.ServicerContext, start: float) -> None:
    code = context.code() or grpc.StatusCode.OK
    HANDLED.labels(method, code.name).inc()
    # Inside the server span of OpenTelemetry's interceptor, which wraps this one.
    LATENCY.labels(method).observe(time.perf_counter() - start, exemplar=trace_exemplar())
