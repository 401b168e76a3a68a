from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from textencoder import SentenceEncoder, int8_cache
from textencoder.build_int8 import build_int8_model
from textencoder.int8_cache import Int8BuildError, Int8ModelCache, Int8ModelKey

TEXTS = ["My card was stolen yesterday", "hi", "Why was I charged twice for the same coffee?"]
KEY = Int8ModelKey(weights_sha256="a" * 64, adapters_sha256=None)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("int8-cache")


@pytest.fixture(scope="module")
def base_key(encoder: SentenceEncoder) -> Int8ModelKey:
    assert encoder.adapters_sha256 is None  # the session encoder carries the base weights
    return Int8ModelKey(weights_sha256=encoder.weights_sha256, adapters_sha256=None)


@pytest.mark.parametrize(
    "changed",
    [
        dataclasses.replace(KEY, weights_sha256="b" * 64),
        dataclasses.replace(KEY, adapters_sha256="c" * 64),
        dataclasses.replace(KEY, float_layers=KEY.float_layers + 1),
    ],
)
def test_every_input_of_the_model_is_part_of_its_key(changed: Int8ModelKey) -> None:
    cache = Int8ModelCache(Path("/unused"))
    assert changed.digest() != KEY.digest()
    assert cache.path(changed) != cache.path(KEY)


def test_an_edit_to_the_builder_is_another_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    before = KEY.digest()
    for name in int8_cache.BUILDER_SOURCES:
        copy = tmp_path / name
        copy.write_bytes((Path(int8_cache.__file__).parent / name).read_bytes())
    (tmp_path / int8_cache.BUILDER_SOURCES[0]).write_text("# an edited exporter\n")
    monkeypatch.setattr(int8_cache, "__file__", str(tmp_path / "int8_cache.py"))
    assert KEY.digest() != before


def test_another_onnx_runtime_is_another_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = KEY.digest()
    monkeypatch.setattr(ort, "__version__", ort.__version__ + ".post1")
    assert KEY.digest() != before


def test_a_miss_builds_the_model_in_a_subprocess_as_the_encoder_builds_it_in_process(
    encoder: SentenceEncoder,
    base_key: Int8ModelKey,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    commands: list[list[str]] = []
    real_run = subprocess.run

    def recording_run(command: list[str], **kwargs: Any) -> Any:
        commands.append(command)
        return real_run(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", recording_run)
    cache = Int8ModelCache(cache_dir)
    int8 = cache.encoder(base_key)

    assert [c[1:3] for c in commands] == [["-m", "textencoder.build_int8"]]
    assert cache.path(base_key).read_bytes() == build_int8_model(encoder)
    np.testing.assert_array_equal(int8.encode(TEXTS), encoder.int8().encode(TEXTS))
    assert list(cache_dir.iterdir()) == [cache.path(base_key)]  # no temporary file left


def test_a_hit_loads_the_model_without_a_subprocess(
    encoder: SentenceEncoder,
    base_key: Int8ModelKey,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = Int8ModelCache(cache_dir)
    if not cache.path(base_key).is_file():  # this test alone: fill the cache first
        cache.build(base_key, encoder_dir=None, adapters_file=None)

    def no_subprocess(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a cached model must not be rebuilt")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    int8 = cache.encoder(base_key)
    assert (int8.weights_sha256, int8.adapters_sha256) == (encoder.weights_sha256, None)
    np.testing.assert_array_equal(int8.encode(TEXTS), encoder.int8().encode(TEXTS))


def test_a_build_for_other_weights_fails_with_the_reason_and_writes_nothing(
    tmp_path: Path,
) -> None:
    cache = Int8ModelCache(tmp_path)
    with pytest.raises(Int8BuildError, match=r"not the requested a{64}"):
        cache.encoder(KEY)
    assert list(tmp_path.iterdir()) == []


def test_adapters_are_passed_exactly_when_the_key_names_them(tmp_path: Path) -> None:
    cache = Int8ModelCache(tmp_path)
    with pytest.raises(ValueError, match="adapters_file"):
        cache.build(KEY, encoder_dir=None, adapters_file=tmp_path / "adapters.safetensors")
    with_adapters = dataclasses.replace(KEY, adapters_sha256="c" * 64)
    with pytest.raises(ValueError, match="adapters_file"):
        cache.build(with_adapters, encoder_dir=None, adapters_file=None)
