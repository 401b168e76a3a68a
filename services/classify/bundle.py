"""Versioned model bundle: `models/classify/<version>/`.

    heads.safetensors   sentiment + intent softmax heads (kernel, bias, temperature)
    labels.json         {"sentiment": [...], "intent": [...]} in logit order
    manifest.json       version, encoder name + sha256 of its safetensors, created_at
    metrics.json        measured metrics of this version (written by training)
    MODEL_CARD.md       data sources and licences, how it was trained, metrics
    adapters.safetensors  optional (v2+): fine-tuning deltas of the encoder, LoRA pairs plus
                        bias/LayerNorm shifts (`textencoder.EncoderAdapters`), a few MB
    intent_exemplars.safetensors, sentiment_exemplars.safetensors
                        optional (v3+): a head's nearest-neighbour memory of its training
                        messages (`ExemplarIndex`), 4-bit vectors, a few MB each
    sentiment_ngrams.safetensors
                        optional (v4+): a linear model on hashed word and character n-grams
                        (`NgramModel`), blended into the sentiment distribution, ~2.5 MB

The heads only make sense on top of the exact encoder weights they were trained against, so
`load_bundle` refuses a bundle whose recorded encoder checksum differs from the encoder on disk.
A bundle with adapters still pins the *base* encoder's checksum; `ClassificationEngine` merges
the adapters into that encoder's kernels once, at construction (W += scale * A @ B), so serving
runs the plain encoder graph at unchanged speed. Without the file the encoder stays frozen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file, save_file

from services.classify.exemplars import ExemplarIndex, ExemplarIndexError
from services.classify.ngrams import NgramModel, NgramModelError
from textencoder.adapters import AdapterError, EncoderAdapters
from textencoder.tokens import DEFAULT_MODEL_NAME, WEIGHTS_FILE, default_model_dir, file_sha256

HEADS_FILE = "heads.safetensors"
LABELS_FILE = "labels.json"
MANIFEST_FILE = "manifest.json"
METRICS_FILE = "metrics.json"
MODEL_CARD_FILE = "MODEL_CARD.md"
ADAPTERS_FILE = "adapters.safetensors"
HEAD_NAMES = ("sentiment", "intent")
EXEMPLAR_FILES = {name: f"{name}_exemplars.safetensors" for name in HEAD_NAMES}
SENTIMENT_NGRAMS_FILE = "sentiment_ngrams.safetensors"
SENTIMENT_LABELS = ("negative", "neutral", "positive")


class BundleError(RuntimeError):
    """The bundle directory is incomplete or inconsistent."""


class EncoderMismatch(BundleError):
    """The bundle was trained against different encoder weights than the ones available."""


@dataclass(frozen=True, eq=False)
class SoftmaxHead:
    """A linear layer on the sentence embedding, softmax with a fitted temperature."""

    labels: tuple[str, ...]
    kernel: npt.NDArray[np.float32]  # (dim, n_labels)
    bias: npt.NDArray[np.float32]  # (n_labels,)
    temperature: float = 1.0

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.kernel.ndim != 2 or self.kernel.shape[1] != n or self.bias.shape != (n,):
            raise BundleError(
                f"head shapes {self.kernel.shape}/{self.bias.shape} do not fit {n} labels"
            )
        if not self.temperature > 0:
            raise BundleError(f"temperature must be > 0, got {self.temperature}")

    def logits(self, embeddings: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return np.asarray(embeddings @ self.kernel + self.bias, dtype=np.float32)

    def probabilities(self, embeddings: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return softmax(self.logits(embeddings) / np.float32(self.temperature))


def softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=-1, keepdims=True), dtype=np.float32)


@dataclass(frozen=True, eq=False)
class ModelBundle:
    version: str
    encoder_name: str
    encoder_sha256: str
    sentiment: SoftmaxHead
    intent: SoftmaxHead
    created_at: str
    metrics: Mapping[str, Any]
    adapters: EncoderAdapters | None = None  # None: the heads sit on the frozen base encoder
    # A head without exemplars decides alone.
    sentiment_exemplars: ExemplarIndex | None = None
    intent_exemplars: ExemplarIndex | None = None
    sentiment_ngrams: NgramModel | None = None  # None: the encoder decides sentiment alone

    def sentiment_probabilities(
        self,
        logits: npt.NDArray[np.float32],
        vectors: npt.NDArray[np.float32],
        texts: Sequence[str],
    ) -> npt.NDArray[np.float32]:
        """Calibrated sentiment distribution: the head's, blended with exemplar votes if any,
        then with the n-gram model's if any."""
        probabilities = _blended(self.sentiment, self.sentiment_exemplars, logits, vectors)
        if self.sentiment_ngrams is None:
            return probabilities
        return self.sentiment_ngrams.blend(probabilities, texts)

    def intent_probabilities(
        self, logits: npt.NDArray[np.float32], vectors: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """Calibrated intent distribution: the head's, blended with exemplar votes if any."""
        return _blended(self.intent, self.intent_exemplars, logits, vectors)


def _blended(
    head: SoftmaxHead,
    exemplars: ExemplarIndex | None,
    logits: npt.NDArray[np.float32],
    vectors: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    probabilities = softmax(logits / np.float32(head.temperature))
    if exemplars is None:
        return probabilities
    return exemplars.blend(probabilities, vectors)


def load_bundle(path: Path | str, *, encoder_dir: Path | str | None = None) -> ModelBundle:
    """Read a bundle and check it against the encoder weights in `encoder_dir`.

    `encoder_dir` defaults to the installed all-MiniLM-L6-v2 package. Raises `BundleError`
    for missing/inconsistent files and `EncoderMismatch` when the checksums differ.
    """
    root = Path(path)
    for name in (HEADS_FILE, LABELS_FILE, MANIFEST_FILE):
        if not (root / name).is_file():
            raise BundleError(f"model bundle {root} lacks {name}")
    manifest = _read_json(root / MANIFEST_FILE)
    labels = _read_json(root / LABELS_FILE)
    metrics = _read_json(root / METRICS_FILE) if (root / METRICS_FILE).is_file() else {}
    try:
        version = str(manifest["version"])
        encoder_name = str(manifest["encoder"]["name"])
        expected_sha = str(manifest["encoder"]["sha256"])
        created_at = str(manifest["created_at"])
    except (KeyError, TypeError) as e:
        raise BundleError(f"{root / MANIFEST_FILE} lacks field {e}") from e

    weights = Path(encoder_dir or default_model_dir()) / WEIGHTS_FILE
    if not weights.is_file():
        raise EncoderMismatch(f"encoder weights {weights} not found (bundle {version} needs them)")
    actual_sha = file_sha256(weights)
    if actual_sha != expected_sha:
        raise EncoderMismatch(
            f"bundle {version} was trained against encoder {encoder_name} sha256={expected_sha}, "
            f"but {weights} has sha256={actual_sha}; retrain the bundle or install that encoder"
        )

    adapters = _adapters(root, manifest)
    tensors = load_file(str(root / HEADS_FILE))
    heads = {name: _head(tensors, name, labels) for name in HEAD_NAMES}
    exemplars = {name: _exemplars(root, manifest, name, heads[name]) for name in HEAD_NAMES}
    ngrams = _sentiment_ngrams(root, manifest, heads["sentiment"])
    return ModelBundle(
        version=version,
        encoder_name=encoder_name,
        encoder_sha256=expected_sha,
        sentiment=heads["sentiment"],
        intent=heads["intent"],
        created_at=created_at,
        metrics=metrics,
        adapters=adapters,
        sentiment_exemplars=exemplars["sentiment"],
        intent_exemplars=exemplars["intent"],
        sentiment_ngrams=ngrams,
    )


def save_bundle(
    path: Path | str,
    *,
    version: str,
    encoder_name: str,
    encoder_sha256: str,
    sentiment: SoftmaxHead,
    intent: SoftmaxHead,
    metrics: Mapping[str, Any] | None = None,
    model_card: str | None = None,
    created_at: datetime | None = None,
    adapters: EncoderAdapters | None = None,
    sentiment_exemplars: ExemplarIndex | None = None,
    intent_exemplars: ExemplarIndex | None = None,
    sentiment_ngrams: NgramModel | None = None,
) -> Path:
    """Write a bundle directory (created if needed) and return its path."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, npt.NDArray[Any]] = {}
    for name, head in (("sentiment", sentiment), ("intent", intent)):
        tensors[f"{name}.kernel"] = np.ascontiguousarray(head.kernel, dtype=np.float32)
        tensors[f"{name}.bias"] = np.ascontiguousarray(head.bias, dtype=np.float32)
        tensors[f"{name}.temperature"] = np.asarray([head.temperature], dtype=np.float32)
    save_file(tensors, str(root / HEADS_FILE), metadata={"version": version})
    labels = {"sentiment": list(sentiment.labels), "intent": list(intent.labels)}
    _write_json(root / LABELS_FILE, labels)
    manifest: dict[str, Any] = {
        "version": version,
        "encoder": {"name": encoder_name or DEFAULT_MODEL_NAME, "sha256": encoder_sha256},
        "created_at": (created_at or datetime.now(UTC)).isoformat(timespec="seconds"),
    }
    if adapters is not None:
        adapters.save(root / ADAPTERS_FILE)
        manifest["adapters"] = {
            "file": ADAPTERS_FILE,
            "rank": adapters.rank,
            "scale": adapters.scale,
            "sha256": adapters.sha256,
        }
    elif (root / ADAPTERS_FILE).exists():
        (root / ADAPTERS_FILE).unlink()  # a stale file would change what the bundle means
    parts: dict[str, tuple[str, ExemplarIndex | NgramModel | None]] = {
        "sentiment_exemplars": (EXEMPLAR_FILES["sentiment"], sentiment_exemplars),
        "intent_exemplars": (EXEMPLAR_FILES["intent"], intent_exemplars),
        "sentiment_ngrams": (SENTIMENT_NGRAMS_FILE, sentiment_ngrams),
    }
    for key, (filename, part) in parts.items():
        path = root / filename
        if part is None:
            path.unlink(missing_ok=True)  # a stale file would change what the bundle means
            continue
        part.save(path)
        manifest[key] = {"file": filename, **part.summary(), "sha256": file_sha256(path)}
    _write_json(root / MANIFEST_FILE, manifest)
    if metrics is not None:
        _write_json(root / METRICS_FILE, metrics)
    if model_card is not None:
        (root / MODEL_CARD_FILE).write_text(model_card, encoding="utf-8")
    return root


def _adapters(root: Path, manifest: Mapping[str, Any]) -> EncoderAdapters | None:
    """The bundle's encoder deltas, checked against the fingerprint in its manifest."""
    recorded = manifest.get("adapters")
    path = root / ADAPTERS_FILE
    if not path.is_file():
        if recorded is not None:
            raise BundleError(f"{root / MANIFEST_FILE} lists adapters but {path} is missing")
        return None
    try:
        adapters = EncoderAdapters.load(path)
    except (AdapterError, OSError) as e:
        raise BundleError(f"unreadable adapters {path}: {e}") from e
    expected = recorded.get("sha256") if isinstance(recorded, Mapping) else None
    if expected is not None and expected != adapters.sha256:
        raise BundleError(f"{path} does not match the adapters fingerprint in its manifest")
    return adapters


def _exemplars(
    root: Path, manifest: Mapping[str, Any], name: str, head: SoftmaxHead
) -> ExemplarIndex | None:
    """A head's exemplars, checked against the manifest's checksum and the head's labels."""
    what = f"{name} exemplars"
    path = _part_file(root, manifest, f"{name}_exemplars", EXEMPLAR_FILES[name], what)
    if path is None:
        return None
    try:
        exemplars = ExemplarIndex.load(path)
    except ExemplarIndexError as e:
        raise BundleError(str(e)) from e
    _check_label_count(what, exemplars.n_labels, head)
    return exemplars


def _sentiment_ngrams(
    root: Path, manifest: Mapping[str, Any], head: SoftmaxHead
) -> NgramModel | None:
    """The sentiment n-gram model, checked against the manifest's checksum and the head."""
    what = "sentiment n-grams"
    path = _part_file(root, manifest, "sentiment_ngrams", SENTIMENT_NGRAMS_FILE, what)
    if path is None:
        return None
    try:
        model = NgramModel.load(path)
    except NgramModelError as e:
        raise BundleError(str(e)) from e
    _check_label_count(what, model.n_labels, head)
    return model


def _part_file(
    root: Path, manifest: Mapping[str, Any], key: str, filename: str, what: str
) -> Path | None:
    """An optional part's file, checked against its manifest entry (None: no such part)."""
    recorded = manifest.get(key)
    path = root / filename
    if not path.is_file():
        if recorded is not None:
            raise BundleError(f"{root / MANIFEST_FILE} lists {what} but {path} is missing")
        return None
    expected = recorded.get("sha256") if isinstance(recorded, Mapping) else None
    if expected is not None and expected != file_sha256(path):
        raise BundleError(f"{path} does not match the {what} checksum in its manifest")
    return path


def _check_label_count(what: str, count: int, head: SoftmaxHead) -> None:
    if count != len(head.labels):
        raise BundleError(f"{what} score {count} labels, the head has {len(head.labels)}")


def _head(tensors: Mapping[str, npt.NDArray[Any]], name: str, labels: Any) -> SoftmaxHead:
    try:
        names = tuple(str(x) for x in labels[name])
        return SoftmaxHead(
            labels=names,
            kernel=tensors[f"{name}.kernel"].astype(np.float32),
            bias=tensors[f"{name}.bias"].astype(np.float32),
            temperature=float(tensors[f"{name}.temperature"][0]),
        )
    except (KeyError, TypeError) as e:
        raise BundleError(f"bundle lacks {name} head data: {e}") from e


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise BundleError(f"{path} is not valid JSON: {e}") from e


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
