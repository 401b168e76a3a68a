"""The micro-batcher on stub stages: it merges, answers and fails callers without knowing what
the stages compute."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from services.classify.batcher import (
    BatcherNotRunning,
    BatcherOverloaded,
    DeadlineExpired,
    MicroBatcher,
    Request,
)

Batch = list[Request[int, str, Any]]


class DoublingStages:
    """First stage doubles every item; second answers each caller (context) with its own."""

    def __init__(self, hold: threading.Event | None = None) -> None:
        self.hold = hold
        self.entered = threading.Event()
        self.batches: list[list[str]] = []

    def first(self, batch: Batch) -> dict[str, list[int]]:
        self.entered.set()
        if self.hold is not None:
            self.hold.wait(timeout=30)
        self.batches.append([request.context for request in batch])
        return {request.context: [2 * item for item in request.items] for request in batch}

    def second(self, batch: Batch, doubled: dict[str, list[int]]) -> list[tuple[str, list[int]]]:
        return [(request.context, doubled[request.context]) for request in batch]


def batcher(stages: Any, **overrides: Any) -> MicroBatcher[int, str, Any, Any]:
    options = {"max_batch": 8, "max_wait_ms": 50.0, "max_queued_items": 100} | overrides
    return MicroBatcher(stages, name="test", **options)


def test_callers_queued_while_busy_share_one_micro_batch_and_get_their_own_results() -> None:
    hold = threading.Event()
    stages = DoublingStages(hold)
    subject = batcher(stages)
    subject.start()
    try:
        with ThreadPoolExecutor(4) as callers:
            busy = callers.submit(subject.submit, [0], "busy")
            assert stages.entered.wait(timeout=30)  # its batch is held in the first stage
            waiting = [callers.submit(subject.submit, [i, i + 1], f"c{i}") for i in range(3)]
            while subject.queued_items < 6:
                time.sleep(0.001)
            hold.set()
            answers = [future.result(timeout=30) for future in waiting]
        assert busy.result() == ("busy", [0])
    finally:
        subject.close()
    assert answers == [(f"c{i}", [2 * i, 2 * i + 2]) for i in range(3)]
    assert stages.batches[1:] == [["c0", "c1", "c2"]]


def test_a_failing_stage_fails_every_caller_of_its_batch_and_the_batcher_goes_on() -> None:
    class Failing(DoublingStages):
        def first(self, batch: Batch) -> dict[str, list[int]]:
            if any(request.context == "poison" for request in batch):
                raise RuntimeError("stage failed")
            return super().first(batch)

    subject = batcher(Failing())
    subject.start()
    try:
        with pytest.raises(RuntimeError, match="stage failed"):
            subject.submit([1], "poison")
        assert subject.submit([4], "next") == ("next", [8])
    finally:
        subject.close()


def test_deadlines_bound_the_queue_and_expired_callers_are_skipped() -> None:
    stages = DoublingStages()
    subject = batcher(stages, max_queued_items=2)
    subject.start()
    try:
        with pytest.raises(BatcherOverloaded):
            subject.submit([1, 2, 3], "too many", deadline=time.monotonic() + 30)
        with pytest.raises(DeadlineExpired):
            subject.submit([1], "late", deadline=time.monotonic() - 1)
        assert subject.submit([1, 2, 3], "no deadline") == ("no deadline", [2, 4, 6])
    finally:
        subject.close()
    assert ["late"] not in stages.batches


def test_submitting_outside_start_and_close_is_refused() -> None:
    subject = batcher(DoublingStages())
    with pytest.raises(BatcherNotRunning):
        subject.submit([1], "early")
    subject.start()
    subject.close()
    with pytest.raises(BatcherNotRunning):
        subject.submit([1], "late")


class SteppedStages(DoublingStages):
    """Records each micro-batch as its first stage starts, then waits for a step."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = threading.Semaphore(0)

    def first(self, batch: Batch) -> dict[str, list[int]]:
        self.batches.append([request.context for request in batch])
        self.steps.acquire(timeout=30)
        return {request.context: [2 * item for item in request.items] for request in batch}


def _until(condition: Any) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.001)


def test_callers_with_a_deadline_go_ahead_of_the_stream() -> None:
    stages = SteppedStages()
    subject = batcher(stages, max_batch=4)
    subject.start()
    try:
        with ThreadPoolExecutor(4) as callers:
            calls = [callers.submit(subject.submit, [0], "first")]
            _until(lambda: len(stages.batches) == 1)
            calls += [callers.submit(subject.submit, [1, 2, 3], s) for s in ("s1", "s2")]
            _until(lambda: subject.queued_items == 6)
            stages.steps.release()  # s1 runs next; s2 does not fit beside it and is carried
            _until(lambda: len(stages.batches) == 2)
            chat = callers.submit(subject.submit, [8, 9], "chat", deadline=time.monotonic() + 30)
            _until(lambda: subject.queued_items == 2)
            stages.steps.release(10)
            assert chat.result(timeout=30) == ("chat", [16, 18])
            assert [call.result(timeout=30)[0] for call in calls] == ["first", "s1", "s2"]
    finally:
        subject.close()
    # The stream's carried request went back behind the chat.
    assert stages.batches == [["first"], ["s1"], ["chat"], ["s2"]]


def test_a_chats_micro_batch_carries_no_stream_texts() -> None:
    stages = SteppedStages()
    subject = batcher(stages, max_batch=8)
    subject.start()
    try:
        with ThreadPoolExecutor(4) as callers:
            calls = [callers.submit(subject.submit, [0], "first")]
            _until(lambda: len(stages.batches) == 1)
            calls.append(callers.submit(subject.submit, [1, 2, 3], "stream"))
            _until(lambda: subject.queued_items == 3)
            calls.append(
                callers.submit(subject.submit, [4], "chat", deadline=time.monotonic() + 30)
            )
            _until(lambda: subject.queued_items == 4)
            stages.steps.release(10)
            assert [call.result(timeout=30)[0] for call in calls] == ["first", "stream", "chat"]
    finally:
        subject.close()
    # Both would fit in one micro-batch of 8; the chat's pays for its own text only.
    assert stages.batches == [["first"], ["chat"], ["stream"]]
