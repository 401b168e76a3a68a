from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from services.classify.bundle import (
    SENTIMENT_LABELS,
    BundleError,
    EncoderMismatch,
    ModelBundle,
    load_bundle,
)
from textencoder import SentenceEncoder, default_model_dir

from .conftest import COMMITTED_BUNDLE, TEST_INTENTS


def test_saved_bundle_loads_back_with_labels_heads_and_temperatures(
    bundle: ModelBundle, encoder: SentenceEncoder
) -> None:
    assert bundle.version == "test-v0"
    assert bundle.sentiment.labels == SENTIMENT_LABELS
    assert bundle.intent.labels == TEST_INTENTS
    assert bundle.intent.kernel.shape == (encoder.dim, len(TEST_INTENTS))
    assert bundle.sentiment.temperature == pytest.approx(0.5)
    assert bundle.encoder_sha256 == encoder.weights_sha256


def test_head_probabilities_sum_to_one(bundle: ModelBundle) -> None:
    x = np.random.default_rng(0).normal(size=(5, 384)).astype(np.float32)
    np.testing.assert_allclose(bundle.intent.probabilities(x).sum(axis=1), 1.0, rtol=1e-5)


def test_load_fails_fast_when_the_encoder_checksum_differs(
    bundle_dir: Path, tmp_path: Path
) -> None:
    other_encoder = tmp_path / "encoder"
    other_encoder.mkdir()
    (other_encoder / "model.safetensors").write_bytes(b"not the weights the heads expect")
    with pytest.raises(EncoderMismatch, match="sha256"):
        load_bundle(bundle_dir, encoder_dir=other_encoder)


def test_load_fails_when_a_bundle_file_is_missing(bundle_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(bundle_dir, broken)
    (broken / "labels.json").unlink()
    with pytest.raises(BundleError, match=r"labels\.json"):
        load_bundle(broken)


def test_load_fails_when_labels_do_not_fit_the_heads(bundle_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(bundle_dir, broken)
    labels = json.loads((broken / "labels.json").read_text())
    labels["intent"] = labels["intent"][:-1]
    (broken / "labels.json").write_text(json.dumps(labels))
    with pytest.raises(BundleError, match="labels"):
        load_bundle(broken)


@pytest.mark.skipif(not COMMITTED_BUNDLE.is_dir(), reason="no committed bundle yet")
def test_committed_bundle_is_small_complete_and_pins_the_installed_encoder() -> None:
    files = {p.name for p in COMMITTED_BUNDLE.iterdir()}
    assert {"heads.safetensors", "labels.json", "metrics.json", "MODEL_CARD.md"} <= files
    assert "manifest.json" in files
    assert sum(p.stat().st_size for p in COMMITTED_BUNDLE.iterdir()) < 2_000_000
    bundle = load_bundle(COMMITTED_BUNDLE, encoder_dir=default_model_dir())
    assert len(bundle.intent.labels) == 77
    assert bundle.sentiment.labels == SENTIMENT_LABELS
