"""The service's encoder on a CPU: the cached int8 model, served without TensorFlow, and
exactly what the in-process int8 path (built from the TensorFlow encoder) serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.classify.bundle import EncoderMismatch, ModelBundle, load_bundle
from services.classify.engine import ClassificationEngine
from services.classify.serving_encoder import gpu_visible, serving_encoder
from services.classify.settings import ClassifySettings
from tests.unit.classify.conftest import COMMITTED_BUNDLE, REPO_ROOT
from textencoder import SentenceEncoder
from textencoder.quantized import Int8Encoder

TEXTS = [
    "My card was stolen yesterday and I need a new one",
    "thanks, that solved it!",
    "Why was I charged twice for the same coffee?",
    "I am furious, the transfer has been pending for a week",
]

# What services/classify/main.py does before serving, in a fresh interpreter.
_SERVICE_START = """
import json, sys
from services.classify.main import build_engine
from services.classify.settings import ClassifySettings
engine = build_engine(ClassifySettings())
engine.start()
engine.classify(["where is my card?"], explain=True)
engine.close()
print(json.dumps({
    "forward": engine.forward_path,
    "loaded": sorted(m for m in ("tensorflow", "transformers", "onnxruntime") if m in sys.modules),
}))
"""


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> ClassifySettings:
    if gpu_visible():
        pytest.skip("a GPU is visible: 'auto' serves the float TensorFlow path here")
    return ClassifySettings(int8_cache_dir=tmp_path_factory.mktemp("int8-cache"))


@pytest.fixture(scope="module")
def served_bundle() -> ModelBundle:
    return load_bundle(COMMITTED_BUNDLE)


@pytest.fixture(scope="module")
def cached_int8(served_bundle: ModelBundle, settings: ClassifySettings) -> Int8Encoder:
    encoder = serving_encoder(served_bundle, settings)
    assert isinstance(encoder, Int8Encoder)
    return encoder


def test_the_service_on_a_cpu_serves_int8_without_importing_tensorflow(
    settings: ClassifySettings,
) -> None:
    env = {**os.environ, "CLASSIFY_INT8_CACHE_DIR": str(settings.int8_cache_dir)}
    env.pop("CLASSIFY_FORWARD", None)
    done = subprocess.run(
        [sys.executable, "-c", _SERVICE_START],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report == {"forward": "int8", "loaded": ["onnxruntime"]}
    assert any(settings.int8_cache_dir.glob("*.onnx"))  # built on the miss, for the next start


@pytest.fixture(scope="module")
def in_process_engine(served_bundle: ModelBundle) -> Iterator[ClassificationEngine]:
    """Today's int8 path: the TensorFlow encoder with the adapters merged, exported and
    quantized in this process."""
    engine = ClassificationEngine(served_bundle, SentenceEncoder(), max_batch=8, forward="int8")
    engine.start()
    yield engine
    engine.close()


def test_the_cached_model_serves_and_explains_exactly_as_the_in_process_int8_path(
    served_bundle: ModelBundle,
    cached_int8: Int8Encoder,
    in_process_engine: ClassificationEngine,
) -> None:
    engine = ClassificationEngine(served_bundle, cached_int8, max_batch=8)
    engine.start()
    try:
        assert engine.forward_path == "int8"
        assert engine.encoder_id == in_process_engine.encoder_id
        for explain in (False, True):
            assert engine.classify(TEXTS, explain=explain) == in_process_engine.classify(
                TEXTS, explain=explain
            )
    finally:
        engine.close()


def test_a_built_int8_model_serves_only_its_own_adapters_and_only_int8(
    bundle: ModelBundle, served_bundle: ModelBundle, cached_int8: Int8Encoder
) -> None:
    with pytest.raises(EncoderMismatch, match="adapters"):
        ClassificationEngine(bundle, cached_int8)  # the test bundle has no adapters
    with pytest.raises(ValueError, match="SentenceEncoder"):
        ClassificationEngine(served_bundle, cached_int8, forward="float")
    with pytest.raises(ValueError, match="SentenceEncoder"):
        ClassificationEngine(served_bundle, cached_int8, explain_method="integrated_gradients")


def test_cuda_visible_devices_can_hide_every_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert not gpu_visible()


def test_the_image_build_step_fills_the_cache_the_service_reads(
    settings: ClassifySettings, served_bundle: ModelBundle, cached_int8: Int8Encoder
) -> None:
    env = {**os.environ, "CLASSIFY_INT8_CACHE_DIR": str(settings.int8_cache_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "services.classify.serving_encoder"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(done.stdout.strip()).parent == settings.int8_cache_dir
    assert Path(done.stdout.strip()).is_file()
