"""The classify engine's raw batched throughput, in this process, built as the service builds it.

`build_engine(ClassifySettings())` is what services/classify/main.py calls: the served bundle,
the same forward path and batching settings (the same CLASSIFY_* environment). Texts go in as
`ClassifyBatch` requests would, `batch` at a time with `concurrency` callers, as
`make bench-classify` sends them to the gRPC server: no network, no Kafka, nothing else.
"""

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.classify.settings import ClassifySettings

if TYPE_CHECKING:  # TensorFlow loads only when the engine is built
    from services.classify.engine import ClassificationEngine


@contextmanager
def served_engine(settings: ClassifySettings) -> Iterator["ClassificationEngine"]:
    """The engine as the service builds it, started (warmed up, as before SERVING), closed after."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # as the stack runs classify
    from services.classify.main import build_engine

    engine = build_engine(settings)
    engine.start()
    try:
        yield engine
    finally:
        engine.close()


class EngineThroughput:
    """The engine started on enter and closed on exit."""

    def __init__(self, batch: int, concurrency: int) -> None:
        self._batch = batch
        self._concurrency = concurrency
        self._engine: ClassificationEngine | None = None
        self._closing = ExitStack()

    def __enter__(self) -> "EngineThroughput":
        self._engine = self._closing.enter_context(served_engine(ClassifySettings()))
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.close()

    def run(self, texts: list[str]) -> "EngineRun":
        """Throughput and CPU cost over `texts` (distinct, so none is answered from the cache)."""
        engine = self._engine
        if engine is None:
            raise RuntimeError("use EngineThroughput as a context manager")
        batches = [texts[i : i + self._batch] for i in range(0, len(texts), self._batch)]
        started, cpu_started = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(max_workers=self._concurrency) as callers:
            done = sum(len(predictions) for predictions in callers.map(engine.classify, batches))
        # The whole process: nothing else runs in it while the engine does.
        cpu_s, wall_s = time.process_time() - cpu_started, time.perf_counter() - started
        return EngineRun(msgs_per_s=done / wall_s, cpu_ms_per_msg=1000 * cpu_s / done)


@dataclass(frozen=True)
class EngineRun:
    msgs_per_s: float
    cpu_ms_per_msg: float  # this process's CPU time (every thread) per message
