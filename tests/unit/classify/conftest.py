from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from services.classify.bundle import SENTIMENT_LABELS, ModelBundle, load_bundle, save_bundle
from services.classify.engine import ClassificationEngine
from services.classify.head import SoftmaxHead
from services.classify.pipeline import TaskPipeline
from services.classify.settings import ClassifySettings
from textencoder import SentenceEncoder

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA = REPO_ROOT / "tests" / "data"
# The bundle the service serves by default.
COMMITTED_BUNDLE: Path = ClassifySettings.model_fields["bundle_dir"].default
TEST_INTENTS = ("card_arrival", "lost_or_stolen_card", "pin_blocked", "terminate_account")


@pytest.fixture(scope="session")
def encoder() -> SentenceEncoder:
    """The real all-MiniLM-L6-v2 encoder, loaded once (a few seconds)."""
    return SentenceEncoder()


@pytest.fixture(scope="session")
def bundle_dir(encoder: SentenceEncoder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle with seeded random heads, pinned to the installed encoder."""
    rng = np.random.default_rng(7)

    def head(labels: tuple[str, ...]) -> TaskPipeline:
        kernel = rng.normal(0.0, 1.0, (encoder.dim, len(labels))).astype(np.float32)
        bias = np.zeros(len(labels), np.float32)
        return TaskPipeline.head_only(SoftmaxHead(labels, kernel, bias, temperature=0.5))

    return save_bundle(
        tmp_path_factory.mktemp("bundle") / "test-v0",
        version="test-v0",
        encoder_name=encoder.name,
        encoder_sha256=encoder.weights_sha256,
        sentiment=head(SENTIMENT_LABELS),
        intent=head(TEST_INTENTS),
        metrics={},
    )


@pytest.fixture(scope="session")
def bundle(bundle_dir: Path) -> ModelBundle:
    return load_bundle(bundle_dir)


@pytest.fixture(scope="module")
def engine(bundle: ModelBundle, encoder: SentenceEncoder) -> Iterator[ClassificationEngine]:
    """A started engine shared by a test module; tests use texts of their own."""
    engine = ClassificationEngine(bundle, encoder, max_batch=8, max_wait_ms=5.0)
    engine.start()
    yield engine
    engine.close()


@contextmanager
def engine_under_load(
    engine: ClassificationEngine, monkeypatch: pytest.MonkeyPatch, queued_texts: int
) -> Iterator[None]:
    """Keeps a started engine busy with one micro-batch until `queued_texts` more texts wait
    behind it, as under load: the callers started inside the block are then merged into the
    next micro-batch (an idle engine would answer the first of them at once)."""
    holding, every_text_queued = threading.Event(), threading.Event()
    batcher = engine._batcher
    run_batch = batcher._run_batch

    def held(batch: list[Any]) -> None:
        if not every_text_queued.is_set():
            holding.set()
            every_text_queued.wait(timeout=60)
        run_batch(batch)

    monkeypatch.setattr(batcher, "_run_batch", held)
    busy = threading.Thread(target=engine.classify, args=(["the engine is busy with this"],))
    busy.start()
    holding.wait(timeout=60)
    deadline = time.monotonic() + 60
    try:
        yield
        while batcher.queued_items < queued_texts and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        every_text_queued.set()
        busy.join()
