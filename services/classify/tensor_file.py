"""Reading a bundle part's safetensors file: tensors and metadata in one pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy.typing as npt
from safetensors import SafetensorError, safe_open


def read_tensor_file(path: Path) -> tuple[dict[str, npt.NDArray[Any]], dict[str, str]]:
    """The tensors and the metadata of `path`; a damaged file raises ValueError."""
    try:
        with safe_open(str(path), framework="numpy") as f:
            names = f.keys()  # a file handle, not a mapping: it is not iterable itself
            return {name: f.get_tensor(name) for name in names}, dict(f.metadata() or {})
    except SafetensorError as e:
        raise ValueError(str(e)) from e
