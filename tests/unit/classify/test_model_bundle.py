from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.classify.bundle import (
    ADAPTERS_FILE,
    SENTIMENT_LABELS,
    BundleError,
    EncoderMismatch,
    ModelBundle,
    load_bundle,
    save_bundle,
)
from services.classify.engine import ClassificationEngine
from services.classify.exemplars import ExemplarIndex
from services.classify.head import SoftmaxHead
from textencoder import EncoderAdapters, SentenceEncoder, default_model_dir

from .conftest import COMMITTED_BUNDLE, TEST_INTENTS


def test_saved_bundle_loads_back_with_labels_heads_and_temperatures(
    bundle: ModelBundle, encoder: SentenceEncoder
) -> None:
    assert bundle.version == "test-v0"
    assert bundle.sentiment.labels == SENTIMENT_LABELS
    assert bundle.intent.labels == TEST_INTENTS
    assert bundle.intent.head.kernel.shape == (encoder.dim, len(TEST_INTENTS))
    assert bundle.sentiment.head.temperature == pytest.approx(0.5)
    assert bundle.encoder_sha256 == encoder.weights_sha256


def test_head_probabilities_sum_to_one(bundle: ModelBundle) -> None:
    x = np.random.default_rng(0).normal(size=(5, 384)).astype(np.float32)
    probabilities = bundle.intent.probabilities(x, [""] * len(x))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


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


def test_only_the_served_bundle_is_committed_small_and_pinned_to_the_encoder() -> None:
    assert [p.name for p in COMMITTED_BUNDLE.parent.iterdir() if p.is_dir()] == [
        COMMITTED_BUNDLE.name
    ]
    files = {p.name: p.stat().st_size for p in COMMITTED_BUNDLE.iterdir()}
    assert {"heads.safetensors", "labels.json", "metrics.json", "MODEL_CARD.md"} <= set(files)
    assert "manifest.json" in files
    assert sum(files.values()) < 8_000_000
    bundle = load_bundle(COMMITTED_BUNDLE, encoder_dir=default_model_dir())
    assert len(bundle.intent.labels) == 77
    assert bundle.sentiment.labels == SENTIMENT_LABELS
    assert bundle.adapters is not None
    # Fine-tuned on every tweet: no sentiment memory of them (classify-model.md)
    assert bundle.intent.exemplars is not None and bundle.sentiment.exemplars is None
    assert bundle.sentiment.ngrams is not None


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


# The served bundle's distributions on fixed inputs, computed by running v6 (its intent ones are
# v5's, pinned before the manifest declared the pipelines explicitly, and v6 serves v5's intent
# pipeline unchanged): loading the bundle must not move a served number.
PINNED_TEXTS = [
    "my card has not arrived yet!!",
    "soooo happy with the new app :)",
    "terrible service #fail",
    "how do I reset my PIN",
]
PINNED_SENTIMENT = [
    [0.4896228313446045, 0.3139263987541199, 0.19645075500011444],
    [0.17138664424419403, 0.27230262756347656, 0.5563106536865234],
    [0.5702885985374451, 0.2265402376651764, 0.20317111909389496],
    [0.3543926477432251, 0.45476049184799194, 0.19084681570529938],
]
PINNED_TOP_INTENTS = [
    [
        ("top_up_limits", 0.2189619541168213),
        ("failed_transfer", 0.1406068056821823),
        ("wrong_amount_of_cash_received", 0.11125800013542175),
    ],
    [
        ("order_physical_card", 0.33403754234313965),
        ("age_limit", 0.1101670041680336),
        ("card_acceptance", 0.10602882504463196),
    ],
    [
        ("edit_personal_details", 0.26305854320526123),
        ("request_refund", 0.19642043113708496),
        ("Refund_not_showing_up", 0.11644161492586136),
    ],
    [
        ("edit_personal_details", 0.5096691846847534),
        ("unable_to_verify_identity", 0.04475541412830353),
        ("card_delivery_estimate", 0.026054324582219124),
    ],
]


def test_served_bundle_serves_the_pinned_numbers() -> None:
    served = load_bundle(COMMITTED_BUNDLE)
    vectors = np.random.default_rng(17).normal(size=(4, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    sentiment = served.sentiment.probabilities(vectors, PINNED_TEXTS)
    intent = served.intent.probabilities(vectors, PINNED_TEXTS)

    np.testing.assert_allclose(sentiment, PINNED_SENTIMENT, rtol=0, atol=1e-6)
    for row, pinned in zip(intent, PINNED_TOP_INTENTS, strict=True):
        top = np.argsort(-row, kind="stable")[:3]
        assert [served.intent.labels[i] for i in top] == [label for label, _ in pinned]
        np.testing.assert_allclose(row[top], [p for _, p in pinned], rtol=0, atol=1e-6)


def test_served_manifest_declares_each_task_pipeline_with_its_shares() -> None:
    manifest = json.loads((COMMITTED_BUNDLE / "manifest.json").read_text())
    declared = {
        task: [(entry["component"], entry["share"]) for entry in entries]
        for task, entries in manifest["pipelines"].items()
    }
    assert declared == {
        "intent": [("softmax_head", 0.5), ("exemplar_votes", 0.5)],
        "sentiment": [("softmax_head", 0.65), ("ngrams", 0.35)],
    }
    served = load_bundle(COMMITTED_BUNDLE)
    assert [c.share for c in served.sentiment.components] == [0.65, 0.35]
    # In the blend the sentiment head is served at T 1 (issue 17: its own T did not survive dev).
    assert served.sentiment.head.temperature == 1.0
    assert served.sentiment.ngrams is not None and served.sentiment.ngrams.temperature == 0.8012


def rewritten_manifest(bundle_dir: Path, tmp_path: Path, task: str, entries: list[Any]) -> Path:
    path = tmp_path / "edited"
    shutil.copytree(bundle_dir, path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["pipelines"][task] = entries
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_load_refuses_a_pipeline_whose_shares_do_not_sum_to_one(
    bundle_dir: Path, tmp_path: Path
) -> None:
    head = {"component": "softmax_head", "share": 0.9, "temperature": 1.0}
    with pytest.raises(BundleError, match="sum to 1"):
        load_bundle(rewritten_manifest(bundle_dir, tmp_path, "intent", [head]))


def test_load_refuses_a_pipeline_without_exactly_one_head_or_with_unknown_parts(
    bundle_dir: Path, tmp_path: Path
) -> None:
    head = {"component": "softmax_head", "share": 0.5, "temperature": 1.0}
    with pytest.raises(BundleError, match="exactly one softmax head"):
        load_bundle(rewritten_manifest(bundle_dir, tmp_path / "a", "intent", [head, head]))
    unknown = {"component": "oracle", "share": 0.5}
    with pytest.raises(BundleError, match="oracle"):
        load_bundle(rewritten_manifest(bundle_dir, tmp_path / "b", "intent", [head, unknown]))


def test_a_bundle_saved_with_a_blend_loads_back_the_same_pipeline(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(12, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.arange(12) % len(TEST_INTENTS)
    index = ExemplarIndex(vectors, labels, len(TEST_INTENTS), k=3, temperature=0.05)
    intent = bundle.intent.with_component(0.4, index)
    path = save_bundle(
        tmp_path / "blend",
        version="test-blend",
        encoder_name=bundle.encoder_name,
        encoder_sha256=bundle.encoder_sha256,
        sentiment=bundle.sentiment,
        intent=intent,
    )

    loaded = load_bundle(path)

    assert [type(c.component) for c in loaded.intent.components] == [SoftmaxHead, ExemplarIndex]
    assert [c.share for c in loaded.intent.components] == pytest.approx([0.6, 0.4])
    queries = vectors[:3] + 0.01
    np.testing.assert_allclose(
        loaded.intent.probabilities(queries, [""] * 3),
        intent.probabilities(queries, [""] * 3),
        atol=1e-6,
    )
