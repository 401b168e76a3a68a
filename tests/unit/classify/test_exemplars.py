from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from services.classify.bundle import BundleError, ModelBundle, load_bundle, save_bundle
from services.classify.exemplars import ExemplarIndex, ExemplarIndexError
from services.classify.head import SoftmaxHead
from training.classify.exemplars import build_exemplars


def unit(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True), dtype=np.float32)


def clustered(
    n_per_label: int, n_labels: int, seed: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Tight clusters around one random direction per label."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(n_labels, 384)))
    labels = np.repeat(np.arange(n_labels), n_per_label)
    return unit(centres[labels] + rng.normal(0, 0.02, (len(labels), 384))), labels


def test_votes_follow_the_nearest_exemplars_and_sum_to_one() -> None:
    vectors, labels = clustered(5, 3, seed=0)
    index = ExemplarIndex(vectors, labels, n_labels=3, k=5, temperature=0.05)
    votes = index.votes(vectors[[0, 7, 14]])
    np.testing.assert_allclose(votes.sum(axis=1), 1.0, atol=1e-6)
    assert list(votes.argmax(axis=1)) == [0, 1, 2]
    assert votes.max(axis=1).min() > 0.99  # k = cluster size: every neighbour agrees


def test_balanced_votes_undo_the_label_imbalance_of_the_exemplars() -> None:
    rng = np.random.default_rng(6)
    centre = unit(rng.normal(size=(1, 384)))
    # One tight cluster: 9 exemplars labelled 0, 3 labelled 1, equally close to the query.
    vectors = unit(np.repeat(centre, 12, axis=0) + rng.normal(0, 1e-4, (12, 384)))
    labels = np.array([0] * 9 + [1] * 3)
    plain = ExemplarIndex(vectors, labels, n_labels=2, k=12, temperature=1.0)
    balanced = ExemplarIndex(vectors, labels, 2, 12, 1.0, balanced=True)
    np.testing.assert_allclose(plain.votes(centre)[0], [0.75, 0.25], atol=1e-3)
    np.testing.assert_allclose(balanced.votes(centre)[0], [0.5, 0.5], atol=1e-3)


def test_index_round_trips_through_4bit_storage(tmp_path: Path) -> None:
    vectors, labels = clustered(10, 4, seed=2)
    index = ExemplarIndex(vectors, labels, 4, k=3, temperature=0.1, balanced=True)
    index.save(tmp_path / "exemplars.safetensors")
    loaded = ExemplarIndex.load(
        tmp_path / "exemplars.safetensors", k=3, temperature=0.1, balanced=True
    )
    assert (loaded.k, loaded.temperature, loaded.n_labels, loaded.balanced) == (3, 0.1, 4, True)
    np.testing.assert_array_equal(loaded.label_ids, labels)
    assert np.min(np.sum(loaded.vectors * vectors, axis=1)) > 0.97
    np.testing.assert_allclose(np.linalg.norm(loaded.vectors, axis=1), 1.0, atol=1e-5)
    assert (tmp_path / "exemplars.safetensors").stat().st_size < vectors.nbytes / 7  # 4-bit


def test_inconsistent_indexes_are_refused() -> None:
    vectors, labels = clustered(2, 2, seed=3)
    with pytest.raises(ExemplarIndexError, match="labels outside"):
        ExemplarIndex(vectors, labels + 5, n_labels=2, k=1, temperature=0.1)
    with pytest.raises(ExemplarIndexError, match="k="):
        ExemplarIndex(vectors, labels, n_labels=2, k=10, temperature=0.1)
    with pytest.raises(ExemplarIndexError, match="temperature"):
        ExemplarIndex(vectors, labels, n_labels=2, k=1, temperature=0.0)


def test_settings_are_chosen_on_dev_and_the_index_holds_train_and_dev() -> None:
    train_vectors, train_labels = clustered(8, 4, seed=4)
    dev_vectors, dev_labels = clustered(3, 4, seed=4)
    names = ("a", "b", "c", "d")
    # A head that always says "a": only the votes can get the other labels right.
    kernel = np.zeros((384, 4), dtype=np.float32)
    head = SoftmaxHead(names, kernel, np.array([5.0, 0, 0, 0], dtype=np.float32))
    index, choice = build_exemplars(
        head,
        (train_vectors, [names[i] for i in train_labels]),
        (dev_vectors, [names[i] for i in dev_labels]),
        "accuracy",
    )
    assert choice.head_dev_score == pytest.approx(0.25)
    assert choice.dev_score == 1.0 and choice.weight == 1.0
    assert index.vectors.shape == (32 + 12, 384)


def test_bundle_serves_blended_intents_and_checks_the_exemplar_file(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    n_labels = len(bundle.intent.labels)
    vectors, labels = clustered(3, n_labels, seed=5)
    exemplars = ExemplarIndex(vectors, labels, n_labels, k=3, temperature=0.05)
    path = save_bundle(
        tmp_path / "with-exemplars",
        version="test-knn",
        encoder_name=bundle.encoder_name,
        encoder_sha256=bundle.encoder_sha256,
        sentiment=bundle.sentiment,
        intent=bundle.intent.with_component(0.75, exemplars),
    )
    loaded = load_bundle(path)
    assert loaded.intent.exemplars is not None
    texts = [""] * len(vectors)
    head = bundle.intent.probabilities(vectors, texts)
    np.testing.assert_allclose(head, bundle.intent.head.probabilities(vectors))
    blended = loaded.intent.probabilities(vectors, texts)
    assert list(blended.argmax(axis=1)) == list(labels)
    np.testing.assert_allclose(blended, 0.25 * head + 0.75 * exemplars.votes(vectors), atol=1e-6)

    stored = path / "intent_exemplars.safetensors"
    ExemplarIndex(vectors[:-1], labels[:-1], n_labels, 2, 0.05).save(stored)
    with pytest.raises(BundleError, match="checksum"):
        load_bundle(path)
    stored.unlink()
    with pytest.raises(BundleError, match="missing"):
        load_bundle(path)
