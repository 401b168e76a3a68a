"""Alert events as SSE: each stream follows one AlertService.StreamAlerts call.

The gRPC stubs are blocking, so each stream reads its call on a thread of its own and hands
the events to the event loop. Each stream gets its own channel: closing that channel is the
one way to stop a blocked read that works whatever interceptors wrap the call.

A stream answers 200 only once the alert service says it is attached (initial metadata); one
that cannot attach in time fails with a problem instead of sending heartbeats over nothing.
Open streams are bounded per key and per gateway (429 beyond either).
"""

import asyncio
import contextlib
import contextvars
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from carepulse.v1 import alert_pb2, alert_pb2_grpc
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from gateway import sse
from gateway.metrics import GatewayMetrics
from gateway.models.alerts import AlertEvent
from gateway.problems import Problem
from gateway.upstream_errors import problem_from_rpc_error

logger = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)

# What the alert service sends once it serves the stream (see alert.proto).
_ATTACHED_METADATA = ("carepulse-stream", "attached")
# Events read ahead of a slow client; beyond this the reader waits, and gRPC flow control
# slows the alert service down instead of the gateway buffering without bound.
_READ_AHEAD = 64


@dataclass(frozen=True)
class _StreamEnd:
    error: grpc.RpcError | None  # None: it ended as expected (closed, or its lifetime is up)


class _Attached:
    """The alert service serves this stream; events follow."""


_ATTACHED = _Attached()


class _UpstreamStream:
    """One StreamAlerts call, read on its own thread into an asyncio queue."""

    def __init__(
        self,
        channel: grpc.Channel,
        after_sequence: int,
        lifetime_s: float,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._channel = channel
        self._request = alert_pb2.StreamAlertsRequest(after_sequence=after_sequence)
        self._lifetime_s = lifetime_s
        self._loop = loop
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._slots = threading.Semaphore(_READ_AHEAD)
        self._closed = threading.Event()
        self._close_lock = threading.Lock()
        # The copied context carries the request's span, so the call is traced under it.
        self._thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self._read,),
            name="alert-stream",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    async def next(self) -> Any:
        """The next AlertEvent, or a _StreamEnd."""
        item = await self._queue.get()
        self._slots.release()
        return item

    def close(self) -> None:
        """Idempotent; closing the channel cancels the call, which ends the reading thread."""
        with self._close_lock:
            if self._closed.is_set():
                return
            self._closed.set()
        self._channel.close()
        self._slots.release()  # the reader may be waiting for room

    def _read(self) -> None:
        end = _StreamEnd(None)
        try:
            # Traced here rather than by the channel's interceptor, which would hide the
            # call's initial metadata (see servicekit.grpc.client.open_channel).
            with _tracer.start_as_current_span(
                "carepulse.v1.AlertService/StreamAlerts",
                kind=SpanKind.CLIENT,
                attributes={
                    "rpc.system": "grpc",
                    "rpc.service": "carepulse.v1.AlertService",
                    "rpc.method": "StreamAlerts",
                },
            ):
                self._follow()
        except grpc.RpcError as error:
            expected = self._closed.is_set() or (
                isinstance(error, grpc.Call) and error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
            )
            if not expected:
                end = _StreamEnd(error)
        except ValueError:
            if not self._closed.is_set():  # a closed channel refuses new calls this way
                raise
        self._deliver(end)

    def _follow(self) -> None:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # W3C trace context, as the interceptor would send it
        stub = alert_pb2_grpc.AlertServiceStub(self._channel)
        call = stub.StreamAlerts(
            self._request, timeout=self._lifetime_s, metadata=tuple(carrier.items())
        )
        # Blocks until the server sends headers, or the call fails (then the loop raises).
        if _ATTACHED_METADATA in tuple(call.initial_metadata() or ()):
            self._deliver(_ATTACHED)
            self._slots.acquire()  # next() gives back one slot per item delivered
        for event in call:
            self._deliver(event)
            self._slots.acquire()
            if self._closed.is_set():
                break

    def _deliver(self, item: Any) -> None:
        # A closed loop means the process is exiting and nobody reads any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)


class AlertStreams:
    """Opens alert event streams, bounds how many are open, and ends them all on shutdown."""

    def __init__(
        self,
        open_channel: Callable[[], grpc.Channel],
        metrics: GatewayMetrics,
        *,
        heartbeat_s: float,
        lifetime_s: float,
        attach_timeout_s: float,
        max_streams: int,
        max_streams_per_key: int,
    ) -> None:
        self._open_channel = open_channel
        self._metrics = metrics
        self._heartbeat_s = heartbeat_s
        self._lifetime_s = lifetime_s
        self._attach_timeout_s = attach_timeout_s
        self._max_streams = max_streams
        self._max_streams_per_key = max_streams_per_key
        self._streams: dict[_UpstreamStream, str] = {}  # stream -> the key name holding it
        self._lock = threading.Lock()
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self, after_sequence: int, holder: str) -> sse.EventStreamResponse:
        """Follow events after `after_sequence` for the key named `holder`.

        Raises a Problem when a bound is reached or the alert service refuses or does not
        attach the stream in time.
        """
        self._loop = asyncio.get_running_loop()
        stream = self._register(after_sequence, holder)
        try:
            stream.start()
            await self._attached(stream)
        except BaseException:
            self._release(stream)
            raise
        return sse.EventStreamResponse(
            self._events(stream, None), on_close=lambda: self._release(stream)
        )

    async def _attached(self, stream: _UpstreamStream) -> None:
        try:
            first = await asyncio.wait_for(stream.next(), self._attach_timeout_s)
        except TimeoutError:
            raise Problem(
                503,
                "alert-stream-not-attached",
                "Alert stream unavailable",
                "The alert service did not start this stream in time; retry after the"
                " Retry-After delay.",
                headers={"Retry-After": "2"},
            ) from None
        if isinstance(first, _StreamEnd) and first.error is not None:
            raise problem_from_rpc_error(first.error)
        if first is not _ATTACHED:
            raise Problem(
                502,
                "upstream-failed",
                "Upstream failure",
                "The alert service ended the stream before serving it.",
            )

    def close_all(self) -> None:
        """End every open stream and refuse new ones; safe from any thread or signal handler."""
        self._closing = True
        loop = self._loop
        if loop is None:
            return  # no stream was ever opened
        # Channels are closed on the loop's thread, never inside a signal handler. A closed
        # loop has ended every stream already.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._close_open_streams)

    def _close_open_streams(self) -> None:
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.close()

    def _register(self, after_sequence: int, holder: str) -> _UpstreamStream:
        with self._lock:
            if self._closing:
                raise Problem(
                    503,
                    "shutting-down",
                    "Shutting down",
                    "This gateway instance is shutting down; reconnect to reach another one.",
                    headers={"Retry-After": "1"},
                )
            held = sum(1 for name in self._streams.values() if name == holder)
            if held >= self._max_streams_per_key:
                raise Problem(
                    429,
                    "too-many-streams",
                    "Too many alert streams",
                    f"This API key already holds {self._max_streams_per_key} alert streams;"
                    " close one first.",
                    headers={"Retry-After": "5"},
                )
            if len(self._streams) >= self._max_streams:
                raise Problem(
                    429,
                    "too-many-streams",
                    "Too many alert streams",
                    f"This gateway instance already serves {self._max_streams} alert streams;"
                    " retry later or close unused ones.",
                    headers={"Retry-After": "5"},
                )
            assert self._loop is not None
            stream = _UpstreamStream(
                self._open_channel(), after_sequence, self._lifetime_s, self._loop
            )
            self._streams[stream] = holder
        self._metrics.open_alert_streams.inc()
        return stream

    def _release(self, stream: _UpstreamStream) -> None:
        stream.close()
        with self._lock:
            if self._streams.pop(stream, None) is None:
                return
        self._metrics.open_alert_streams.dec()

    async def _events(self, stream: _UpstreamStream, first: Any) -> AsyncIterator[str]:
        item = first
        while True:
            if isinstance(item, _StreamEnd):
                if item.error is not None:
                    # The client reconnects with Last-Event-ID and gets the reason as a problem.
                    logger.warning("alert stream ended by upstream", exc_info=item.error)
                return
            if item is not None:
                event = AlertEvent.from_proto(item)
                yield sse.event(event.model_dump_json(), event_id=str(event.sequence), name="alert")
            try:
                item = await asyncio.wait_for(stream.next(), self._heartbeat_s)
            except TimeoutError:
                item = None
                yield sse.comment("heartbeat")
