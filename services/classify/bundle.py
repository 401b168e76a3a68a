"""Versioned model bundle: `models/classify/<version>/`.

    manifest.json       version, encoder name + sha256 of its safetensors, created_at, the
                        adapters' fingerprint, and each task's pipeline: its components with
                        their shares and settings (temperatures, k, ...) and files' sha256
    labels.json         {"sentiment": [...], "intent": [...]} in logit order
    heads.safetensors   each task's softmax head: kernel and bias
    adapters.safetensors  optional: fine-tuning deltas of the encoder, LoRA pairs plus
                        bias/LayerNorm shifts (`textencoder.EncoderAdapters`), a few MB
    <task>_exemplars.safetensors, <task>_ngrams.safetensors
                        the files of a pipeline's exemplar votes (4-bit vectors) and n-gram
                        model (int8 weights), when its manifest lists them
    metrics.json        measured metrics of this version (written by training)
    MODEL_CARD.md       data sources and licences, how it was trained, metrics

The manifest is the one description of what is served; `load_bundle` builds each task's
`TaskPipeline` from it and checks every file it names against its sha256. The heads only make
sense on top of the exact encoder weights they were trained against, so `load_bundle` refuses
a bundle whose recorded encoder checksum differs from the encoder on disk. A bundle with
adapters pins the *base* encoder's checksum; the engine merges the adapters into that
encoder's kernels once (W += scale * A @ B), so serving runs the plain encoder graph.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file, save_file

from services.classify.exemplars import ExemplarIndex, ExemplarIndexError
from services.classify.head import HeadError, SoftmaxHead
from services.classify.ngrams import NgramModel, NgramModelError
from services.classify.pipeline import (
    Component,
    PipelineError,
    TaskPipeline,
    Weighted,
    component_kind,
)
from textencoder.adapters import AdapterError, EncoderAdapters
from textencoder.tokens import DEFAULT_MODEL_NAME, WEIGHTS_FILE, default_model_dir, file_sha256

HEADS_FILE = "heads.safetensors"
LABELS_FILE = "labels.json"
MANIFEST_FILE = "manifest.json"
METRICS_FILE = "metrics.json"
MODEL_CARD_FILE = "MODEL_CARD.md"
ADAPTERS_FILE = "adapters.safetensors"
TASKS = ("sentiment", "intent")
SENTIMENT_LABELS = ("negative", "neutral", "positive")
# The file of a component that has one, by task: e.g. intent_exemplars.safetensors.
COMPONENT_FILES = {
    "exemplar_votes": "{task}_exemplars.safetensors",
    "ngrams": "{task}_ngrams.safetensors",
}


class BundleError(RuntimeError):
    """The bundle directory is incomplete or inconsistent."""


class EncoderMismatch(BundleError):
    """The bundle was trained against different encoder weights than the ones available."""


@dataclass(frozen=True, eq=False)
class ModelBundle:
    version: str
    encoder_name: str
    encoder_sha256: str
    sentiment: TaskPipeline
    intent: TaskPipeline
    created_at: str
    metrics: Mapping[str, Any]
    adapters: EncoderAdapters | None = None  # None: the heads sit on the frozen base encoder


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
        pipelines = {task: list(manifest["pipelines"][task]) for task in TASKS}
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

    heads = load_file(str(root / HEADS_FILE))
    built = {task: _pipeline(root, task, pipelines[task], heads, labels) for task in TASKS}
    return ModelBundle(
        version=version,
        encoder_name=encoder_name,
        encoder_sha256=expected_sha,
        sentiment=built["sentiment"],
        intent=built["intent"],
        created_at=created_at,
        metrics=metrics,
        adapters=_adapters(root, manifest),
    )


def save_bundle(
    path: Path | str,
    *,
    version: str,
    encoder_name: str,
    encoder_sha256: str,
    sentiment: TaskPipeline,
    intent: TaskPipeline,
    metrics: Mapping[str, Any] | None = None,
    model_card: str | None = None,
    created_at: datetime | str | None = None,
    adapters: EncoderAdapters | None = None,
) -> Path:
    """Write a bundle directory (created if needed) and return its path."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    pipelines = {"sentiment": sentiment, "intent": intent}
    tensors: dict[str, npt.NDArray[Any]] = {}
    for task, pipeline in pipelines.items():
        tensors[f"{task}.kernel"] = np.ascontiguousarray(pipeline.head.kernel, dtype=np.float32)
        tensors[f"{task}.bias"] = np.ascontiguousarray(pipeline.head.bias, dtype=np.float32)
    save_file(tensors, str(root / HEADS_FILE), metadata={"version": version})
    _write_json(root / LABELS_FILE, {task: list(p.labels) for task, p in pipelines.items()})
    if isinstance(created_at, datetime) or created_at is None:
        created_at = (created_at or datetime.now(UTC)).isoformat(timespec="seconds")
    manifest: dict[str, Any] = {
        "version": version,
        "encoder": {"name": encoder_name or DEFAULT_MODEL_NAME, "sha256": encoder_sha256},
        "created_at": created_at,
        "pipelines": {task: _save_pipeline(root, task, p) for task, p in pipelines.items()},
    }
    if adapters is not None:
        adapters.save(root / ADAPTERS_FILE)
        manifest["adapters"] = {
            "file": ADAPTERS_FILE,
            "rank": adapters.rank,
            "scale": adapters.scale,
            "sha256": adapters.sha256,
        }
    else:
        (root / ADAPTERS_FILE).unlink(missing_ok=True)  # a stale file would mislead a reader
    _write_json(root / MANIFEST_FILE, manifest)
    if metrics is not None:
        _write_json(root / METRICS_FILE, metrics)
    if model_card is not None:
        (root / MODEL_CARD_FILE).write_text(model_card, encoding="utf-8")
    return root


def _save_pipeline(root: Path, task: str, pipeline: TaskPipeline) -> list[dict[str, Any]]:
    """Each component's manifest entry; its file, if it has one, written next to it."""
    entries: list[dict[str, Any]] = []
    written: set[str] = set()
    for part in pipeline.components:
        component, kind = part.component, component_kind(part.component)
        entry: dict[str, Any] = {"component": kind, "share": part.share}
        if isinstance(component, ExemplarIndex | NgramModel):
            filename = COMPONENT_FILES[kind].format(task=task)
            component.save(root / filename)
            entry |= {"file": filename, "sha256": file_sha256(root / filename)}
            written.add(filename)
        settings = component.settings()
        # Every temperature is applied in float32: the shortest decimal of that float32 is
        # the number served, and reads better than the float64 training fitted.
        settings["temperature"] = float(str(np.float32(settings["temperature"])))
        entries.append(entry | settings)
    for pattern in COMPONENT_FILES.values():
        stale = root / pattern.format(task=task)
        if stale.name not in written:
            stale.unlink(missing_ok=True)  # a stale file would mislead a reader
    return entries


def _pipeline(
    root: Path,
    task: str,
    entries: list[Any],
    heads: Mapping[str, npt.NDArray[Any]],
    labels: Any,
) -> TaskPipeline:
    """The task's pipeline as its manifest entries declare it, each file checked."""
    components: list[Weighted] = []
    for entry in entries:
        kind = entry.get("component") if isinstance(entry, Mapping) else None
        if kind not in _BUILDERS:
            raise BundleError(f"{task} pipeline: unknown component {kind!r}")
        try:
            component = _BUILDERS[kind](root, task, entry, heads, labels)
            components.append(Weighted(float(entry["share"]), component))
        except (KeyError, TypeError) as e:
            raise BundleError(f"{task} pipeline entry {entry!r} lacks {e}") from e
        except (ExemplarIndexError, NgramModelError, HeadError) as e:
            raise BundleError(f"{task} {kind}: {e}") from e
    try:
        return TaskPipeline(tuple(components))
    except PipelineError as e:
        raise BundleError(f"{task} pipeline: {e}") from e


def _softmax_head(
    root: Path, task: str, entry: Mapping[str, Any], heads: Mapping[str, Any], labels: Any
) -> SoftmaxHead:
    return SoftmaxHead(
        labels=tuple(str(x) for x in labels[task]),
        kernel=heads[f"{task}.kernel"].astype(np.float32),
        bias=heads[f"{task}.bias"].astype(np.float32),
        temperature=float(entry["temperature"]),
    )


def _exemplar_votes(
    root: Path, task: str, entry: Mapping[str, Any], heads: Mapping[str, Any], labels: Any
) -> ExemplarIndex:
    return ExemplarIndex.load(
        _checked_file(root, entry),
        k=int(entry["k"]),
        temperature=float(entry["temperature"]),
        balanced=bool(entry["balanced"]),
    )


def _ngrams(
    root: Path, task: str, entry: Mapping[str, Any], heads: Mapping[str, Any], labels: Any
) -> NgramModel:
    return NgramModel.load(_checked_file(root, entry), temperature=float(entry["temperature"]))


_BUILDERS: dict[str, Callable[..., Component]] = {
    "softmax_head": _softmax_head,
    "exemplar_votes": _exemplar_votes,
    "ngrams": _ngrams,
}


def _checked_file(root: Path, entry: Mapping[str, Any]) -> Path:
    """The component's file, which must match the sha256 its manifest entry records."""
    path = root / str(entry["file"])
    if not path.is_file():
        raise BundleError(f"{root / MANIFEST_FILE} lists {path.name} but it is missing")
    if file_sha256(path) != entry["sha256"]:
        raise BundleError(f"{path} does not match the checksum in its manifest")
    return path


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


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise BundleError(f"{path} is not valid JSON: {e}") from e


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
