from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from services.classify.bundle import (
    SENTIMENT_LABELS,
    ModelBundle,
    SoftmaxHead,
    load_bundle,
    save_bundle,
)
from services.classify.engine import ClassificationEngine
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

    def head(labels: tuple[str, ...]) -> SoftmaxHead:
        kernel = rng.normal(0.0, 1.0, (encoder.dim, len(labels))).astype(np.float32)
        return SoftmaxHead(labels, kernel, np.zeros(len(labels), np.float32), temperature=0.5)

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
