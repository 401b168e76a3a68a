"""The encoder the service runs: the cached int8 model on a CPU, TensorFlow on a GPU.

On a CPU with `forward` "auto" or "int8" the service loads the int8 ONNX model from the cache
(`textencoder.int8_cache`, built in a subprocess on a miss) and never imports TensorFlow; the
float path and GPUs get the TensorFlow `SentenceEncoder`. Whether a GPU is there is decided
without TensorFlow, from the NVIDIA device nodes a GPU container is given.

`python -m services.classify.serving_encoder` builds the configured bundle's int8 model into
`CLASSIFY_INT8_CACHE_DIR` (the classify image does so at build time) and prints its path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from services.classify.bundle import ADAPTERS_FILE, ModelBundle, load_bundle
from services.classify.settings import ClassifySettings
from textencoder.int8_cache import Int8ModelCache, Int8ModelKey
from textencoder.quantized import Int8Encoder

if TYPE_CHECKING:
    from textencoder.encoder import SentenceEncoder


def gpu_visible() -> bool:
    """Whether TensorFlow would find an NVIDIA GPU: a device node exists (the device plugin or
    container runtime adds them only for a granted GPU) and CUDA_VISIBLE_DEVICES hides none."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1"):
        return False
    return any(Path("/dev").glob("nvidia[0-9]*"))


def runs_tensorflow(settings: ClassifySettings) -> bool:
    """Whether the service serves the float TensorFlow path (else the cached int8 model)."""
    return settings.forward == "float" or (settings.forward == "auto" and gpu_visible())


def serving_encoder(
    bundle: ModelBundle, settings: ClassifySettings
) -> SentenceEncoder | Int8Encoder:
    if runs_tensorflow(settings):
        from textencoder.encoder import SentenceEncoder  # TensorFlow: float path only

        return SentenceEncoder(settings.encoder_dir)
    return int8_cache(settings).encoder(
        int8_key(bundle),
        encoder_dir=settings.encoder_dir,
        adapters_file=settings.bundle_dir / ADAPTERS_FILE if bundle.adapters else None,
    )


def int8_key(bundle: ModelBundle) -> Int8ModelKey:
    adapters = bundle.adapters.sha256 if bundle.adapters is not None else None
    return Int8ModelKey(weights_sha256=bundle.encoder_sha256, adapters_sha256=adapters)


def int8_cache(settings: ClassifySettings) -> Int8ModelCache:
    return Int8ModelCache(settings.int8_cache_dir)


def main() -> int:
    settings = ClassifySettings()
    bundle = load_bundle(settings.bundle_dir, encoder_dir=settings.encoder_dir)
    cache, key = int8_cache(settings), int8_key(bundle)
    if not cache.path(key).is_file():
        adapters = settings.bundle_dir / ADAPTERS_FILE if bundle.adapters else None
        cache.build(key, encoder_dir=settings.encoder_dir, adapters_file=adapters)
    print(cache.path(key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
