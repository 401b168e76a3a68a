from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from services.classify.bundle import (
    ADAPTERS_FILE,
    EXEMPLAR_FILES,
    SENTIMENT_LABELS,
    SENTIMENT_NGRAMS_FILE,
    BundleError,
    EncoderMismatch,
    ModelBundle,
    load_bundle,
    save_bundle,
)
from services.classify.engine import ClassificationEngine
from textencoder import EncoderAdapters, SentenceEncoder, default_model_dir

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


@pytest.mark.parametrize("version", ["v1", "v2", "v3", "v4", "v5"])
def test_committed_bundles_are_small_complete_and_pin_the_installed_encoder(version: str) -> None:
    path = COMMITTED_BUNDLE.parent / version
    if not path.is_dir():
        pytest.skip(f"no committed bundle {version}")
    files = {p.name for p in path.iterdir()}
    assert {"heads.safetensors", "labels.json", "metrics.json", "MODEL_CARD.md"} <= files
    assert "manifest.json" in files
    exemplars = {path / name for name in EXEMPLAR_FILES.values()}
    ngrams = path / SENTIMENT_NGRAMS_FILE
    rest = [p for p in path.iterdir() if p not in exemplars and p != ngrams]
    assert sum(p.stat().st_size for p in rest) < 2_000_000
    assert sum(p.stat().st_size for p in exemplars if p.exists()) < 10_000_000
    assert not ngrams.exists() or ngrams.stat().st_size < 4_000_000
    bundle = load_bundle(path, encoder_dir=default_model_dir())
    assert len(bundle.intent.labels) == 77
    assert bundle.sentiment.labels == SENTIMENT_LABELS
    assert (bundle.adapters is None) == (version == "v1")
    assert (bundle.intent_exemplars is not None) == (version >= "v3")
    # v5's sentiment head was fine-tuned on every tweet: no memory of them (classify-model.md)
    assert (bundle.sentiment_exemplars is not None) == (version in ("v3", "v4"))
    assert (bundle.sentiment_ngrams is not None) == (version >= "v4")


def tiny_adapters(seed: int = 0) -> EncoderAdapters:
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.05, (384, 2)).astype(np.float32)
    b = rng.normal(0, 0.05, (2, 384)).astype(np.float32)
    return EncoderAdapters(
        scale=2.0, low_rank={"encoder.layer.0.attention.self.value": (a, b)}, additive={}
    )


def copy_with_adapters(bundle: ModelBundle, path: Path, adapters: EncoderAdapters) -> Path:
    return save_bundle(
        path,
        version="test-lora",
        encoder_name=bundle.encoder_name,
        encoder_sha256=bundle.encoder_sha256,
        sentiment=bundle.sentiment,
        intent=bundle.intent,
        adapters=adapters,
    )


def test_bundle_without_adapters_loads_as_before_and_keeps_the_encoder_frozen(
    bundle: ModelBundle, bundle_dir: Path, encoder: SentenceEncoder
) -> None:
    assert not (bundle_dir / ADAPTERS_FILE).exists()
    assert bundle.adapters is None
    ClassificationEngine(bundle, encoder)
    assert encoder.adapters_sha256 is None


def test_bundle_adapters_are_merged_into_the_encoder_when_the_engine_is_built(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    adapters = tiny_adapters()
    loaded = load_bundle(copy_with_adapters(bundle, tmp_path / "lora", adapters))
    assert loaded.adapters is not None and loaded.adapters.sha256 == adapters.sha256
    encoder = SentenceEncoder()
    base = encoder.encode(["where is my card?"])

    ClassificationEngine(loaded, encoder)

    assert encoder.adapters_sha256 == adapters.sha256
    assert np.abs(encoder.encode(["where is my card?"]) - base).max() > 1e-3
    with pytest.raises(EncoderMismatch, match="base encoder"):
        ClassificationEngine(bundle, encoder)  # a frozen-encoder bundle on adapted weights


def test_load_fails_when_the_adapters_do_not_match_the_manifest(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    path = copy_with_adapters(bundle, tmp_path / "lora", tiny_adapters())
    tiny_adapters(seed=1).save(path / ADAPTERS_FILE)
    with pytest.raises(BundleError, match="fingerprint"):
        load_bundle(path)
    (path / ADAPTERS_FILE).unlink()
    with pytest.raises(BundleError, match="missing"):
        load_bundle(path)
