"""`MicroBatcher`: merges concurrent callers' items into micro-batches run in two stages.

Many callers (gRPC threads, the Kafka consumer) submit at once. Their requests are queued; one
worker thread merges what is queued (under load, also what arrives within `max_wait_ms`; up to
`max_batch` items) into one micro-batch and runs the first stage on it; a second thread runs
the second stage and answers the callers, while the worker runs the first stage of the next
micro-batch. Two stages, so a batch's slow part (e.g. a forward pass) overlaps the rest of the
previous batch instead of leaving the cores idle in between.

Requests with a deadline (someone is waiting: a chat) go ahead of those without (a stream,
which has its own backpressure): a chat waits for the micro-batch in progress and for other
chats, never for the stream's backlog.

The batcher knows nothing of what the stages compute: a request is a list of items and a
caller context, and the second stage returns one result per request.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

Item = TypeVar("Item")
Context = TypeVar("Context")
Result = TypeVar("Result")
State = TypeVar("State")


class BatcherNotRunning(RuntimeError):
    """Submitted before `start()` or after `close()`."""


class BatcherOverloaded(RuntimeError):
    """More items are waiting than the batcher accepts from callers with a deadline."""


class DeadlineExpired(RuntimeError):
    """The caller's deadline passed before its items were computed; the work was skipped."""


@dataclass
class Request(Generic[Item, Context, Result]):
    items: list[Item]
    context: Context
    deadline: float | None = None  # time.monotonic() after which nobody waits for the answer
    queued_at: float = field(default_factory=time.monotonic)
    future: Future[Result] = field(default_factory=Future)

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


Batch = list[Request[Item, Context, Result]]


class BatchStages(Protocol[Item, Context, Result, State]):
    def first(self, batch: Batch[Item, Context, Result]) -> State:
        """On the worker thread; an exception fails every request of the batch."""
        ...

    def second(self, batch: Batch[Item, Context, Result], state: State) -> Sequence[Result]:
        """On the finishing thread: one result per request of `batch`, the requests still
        waited for (possibly none: what the first stage computed may still be worth keeping)."""
        ...


class MicroBatcher(Generic[Item, Context, Result, State]):
    def __init__(
        self,
        stages: BatchStages[Item, Context, Result, State],
        *,
        max_batch: int,
        max_wait_ms: float,
        max_queued_items: int,
        name: str,  # threads: <name>-batcher, <name>-finisher
    ) -> None:
        if max_batch < 1 or max_wait_ms < 0 or max_queued_items < 1:
            raise ValueError("max_batch and max_queued_items must be >= 1, max_wait_ms >= 0")
        self._stages = stages
        self._max_batch = max_batch
        self._max_wait_s = max_wait_ms / 1000.0
        self._max_queued_items = max_queued_items
        self._name = name
        # Waiting for the worker, by lane; guarded by _lock, whose condition wakes the worker.
        self._urgent: deque[Request[Item, Context, Result]] = deque()  # with a deadline
        self._bulk: deque[Request[Item, Context, Result]] = deque()  # without
        self._queued_items = 0
        self._urgent_items = 0
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = False  # the worker ends once both lanes are empty
        self._running = False
        self._closed = False
        self._worker: threading.Thread | None = None
        self._finisher = ThreadPoolExecutor(1, thread_name_prefix=f"{name}-finisher")

    @property
    def running(self) -> bool:
        return self._running

    @property
    def queued_items(self) -> int:
        """Items submitted and not yet taken into a micro-batch."""
        return self._queued_items

    def start(self) -> None:
        with self._lock:
            if self._closed:
                raise BatcherNotRunning("batcher was closed")
            if self._running:
                return
            self._worker = threading.Thread(
                target=self._serve, name=f"{self._name}-batcher", daemon=True
            )
            self._worker.start()
            self._running = True

    def close(self) -> None:
        """Finish the queued requests, then stop the threads. Later submissions raise."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._running = False
            worker = self._worker
            self._stopping = True
            self._arrived.notify()
        if worker is not None:
            worker.join()
        self._finisher.shutdown(wait=True)

    def submit(
        self, items: list[Item], context: Context, *, deadline: float | None = None
    ) -> Result:
        """The second stage's result for these items; blocks until computed.

        A caller with a `deadline` (time.monotonic()) goes ahead of callers without one. It is
        refused with BatcherOverloaded when more than `max_queued_items` items of callers with
        a deadline would wait (the only ones it waits behind), and its items are skipped
        (DeadlineExpired) once the deadline has passed. Callers without one always queue.
        """
        request: Request[Item, Context, Result] = Request(items, context, deadline)
        with self._lock:
            if not self._running:
                raise BatcherNotRunning("call start() first" if not self._closed else "closed")
            if deadline is not None:
                waiting = self._urgent_items + len(items)
                if waiting > self._max_queued_items:
                    raise BatcherOverloaded(
                        f"{self._urgent_items} items are waiting; the batcher takes at most "
                        f"{self._max_queued_items} from callers with a deadline"
                    )
                self._urgent_items = waiting
                self._urgent.append(request)
            else:
                self._bulk.append(request)
            self._queued_items += len(items)
            self._arrived.notify()
        return request.future.result()

    def _serve(self) -> None:
        carry: Request[Item, Context, Result] | None = None
        last_done = float("-inf")  # when the last micro-batch left the worker
        while True:
            first, carry = carry, None
            if first is not None and self._requeued_for_deadline(first):
                first = None
            if first is None:
                first = self._take()
            if first is None:  # close() was called and everything before it is done
                return
            # A request already waiting when the last micro-batch was done means load: then the
            # wait fills the next micro-batch (throughput). An idle batcher answers a lone
            # request at once, since waiting would only add latency; what is queued still joins.
            under_load = first.queued_at < last_done
            batch, size, stop = [first], len(first.items), False
            deadline = time.monotonic() + (self._max_wait_s if under_load else 0.0)
            # A chat's micro-batch takes only chats: beside a stream's texts it would pay for
            # their forward pass too (a stream-started one takes a chat: it would wait anyway).
            chats_only = first.deadline is not None
            while size < self._max_batch:
                remaining = deadline - time.monotonic()
                try:
                    item = self._take(
                        timeout=max(remaining, 0.0), block=remaining > 0, urgent_only=chats_only
                    )
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                if size + len(item.items) > self._max_batch:
                    carry = item  # starts the next micro-batch
                    break
                batch.append(item)
                size += len(item.items)
            self._run_batch(batch)
            last_done = time.monotonic()
            if stop:
                return

    def _requeued_for_deadline(self, carried: Request[Item, Context, Result]) -> bool:
        """Put a carried request without a deadline back at the head of its lane when one
        with a deadline waits: that one goes first."""
        with self._lock:
            if carried.deadline is not None or not self._urgent:
                return False
            self._bulk.appendleft(carried)
            self._queued_items += len(carried.items)
            return True

    def _take(
        self, timeout: float | None = None, *, block: bool = True, urgent_only: bool = False
    ) -> Request[Item, Context, Result] | None:
        """The next request, a deadline's first (None: stop, all done); raises queue.Empty if
        none comes in time. `urgent_only`: only a request with a deadline will do."""
        give_up = None if timeout is None else time.monotonic() + timeout
        with self._arrived:
            while not (self._urgent or (self._bulk and not urgent_only)):
                if self._stopping:
                    if self._bulk:  # left for a later micro-batch: nothing more will come
                        raise queue.Empty
                    return None
                remaining = None if give_up is None else give_up - time.monotonic()
                if not block or (remaining is not None and remaining <= 0):
                    raise queue.Empty
                self._arrived.wait(remaining)
            if self._urgent:
                request = self._urgent.popleft()
                self._urgent_items -= len(request.items)
            else:
                request = self._bulk.popleft()
            self._queued_items -= len(request.items)
            return request

    def _run_batch(self, batch: Batch[Item, Context, Result]) -> None:
        """First stage here, on the worker; second stage and answers on the finisher."""
        batch = _drop_expired(batch)
        if not batch:
            return
        try:
            state = self._stages.first(batch)
        except Exception as error:  # handed to every waiting caller, who re-raises it
            _fail(batch, error)
            return
        self._finisher.submit(self._finish, batch, state)

    def _finish(self, batch: Batch[Item, Context, Result], state: State) -> None:
        batch = _drop_expired(batch)
        try:
            results = self._stages.second(batch, state)
        except Exception as error:
            _fail(batch, error)
            return
        for request, result in zip(batch, results, strict=True):
            request.future.set_result(result)


def _drop_expired(batch: Batch[Item, Context, Result]) -> Batch[Item, Context, Result]:
    """The requests still waited for; the others fail with DeadlineExpired, uncomputed."""
    live = []
    for request in batch:
        if request.expired():
            request.future.set_exception(DeadlineExpired("the caller's deadline passed"))
        else:
            live.append(request)
    return live


def _fail(batch: Batch[Item, Context, Result], error: Exception) -> None:
    for request in batch:
        request.future.set_exception(error)
