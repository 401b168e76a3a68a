import threading
import time

import grpc
import pytest

from servicekit.grpc.server import GrpcServer

_ENTERED = threading.Event()
_RELEASE = threading.Event()


def _slow(request: bytes, context: grpc.ServicerContext) -> bytes:
    _ENTERED.set()
    _RELEASE.wait(10)
    return request


def _register(server: grpc.Server) -> None:
    handler = grpc.unary_unary_rpc_method_handler(_slow)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("test.Slow", {"Call": handler})]
    )


def test_calls_beyond_the_concurrency_bound_are_refused_at_once() -> None:
    server = GrpcServer(
        address="127.0.0.1:0",
        max_workers=1,
        max_concurrent_rpcs=2,
        service_names=[],
        registrations=[_register],
    )
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    call = channel.unary_unary("/test.Slow/Call")
    _RELEASE.clear()
    try:
        # One call runs, one waits for the thread: the bound is reached.
        held = [call.future(b"x", timeout=10) for _ in range(2)]
        assert _ENTERED.wait(5)
        time.sleep(0.3)  # the second call reaches the server and waits for the thread
        refused = []
        for _ in range(3):
            with pytest.raises(grpc.RpcError) as error:
                call(b"y", timeout=5)
            refused.append(error.value.code())
        _RELEASE.set()
        assert [f.result() for f in held] == [b"x", b"x"]
    finally:
        _RELEASE.set()
        channel.close()
        server.stop(grace_s=1)

    assert refused == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 3
