"""`NgramModel`: a linear sentiment model on hashed word and character n-grams.

The sentence encoder sees a tweet through a 30k WordPiece vocabulary and a 384-d average;
spellings, hashtags, emoticons and slang ("soooo", "#fail", ":(") are largely averaged away.
A bag of n-grams keeps them, and on TweetEval it errs on different tweets than the encoder
does, so a blend of the two beats either (measured figures in the bundle's model card).

Features are hashed into 2**bits buckets per bank, so there is no vocabulary to ship or keep in
memory: one bank for word uni- and bigrams, one for the 2-5-byte grams of each
space-separated token (padded with a space each side). Each bank is tf-idf weighted
(sublinear tf) and L2-normalised. A whole micro-batch is hashed with numpy at once (FNV-1a
with a murmur3 finaliser); per-gram Python would cost more than the rest of a request and hold
the GIL the gRPC threads need. Weights are stored as int8 with one scale per label (~1.5 MB
for 2 x 2**18 buckets, 3 labels). The temperature and the model's share of the served
distribution are declared in the bundle's manifest (`services.classify.pipeline`). Training
lives in `training.classify.ngrams`.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import save_file

from services.classify.tensor_file import read_tensor_file

_WORD = re.compile(r"\b\w\w+\b")
_CHAR_SIZES = (2, 3, 4, 5)
_FNV_OFFSET = np.uint32(2166136261)
_FNV_PRIME = np.uint32(16777619)
_BIGRAM_SEED = np.uint32(0x9E3779B9)
_UTF8 = "utf-8"
# A lone surrogate (JSON can carry one) must not fail the whole micro-batch; hash it as is.
_LONE_SURROGATES = "surrogatepass"


class NgramModelError(ValueError):
    """The stored model is unreadable or inconsistent."""


@dataclass(frozen=True)
class CountRows:
    """Bucket counts of many texts, row after row (CSR layout; ids sorted within a row)."""

    indptr: npt.NDArray[np.int64]  # (n + 1,)
    ids: npt.NDArray[np.int64]
    counts: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def row_of(self) -> npt.NDArray[np.int64]:
        """The row of each stored count."""
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.indptr))

    def positions(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Where the stored counts of `rows` are, row after row in the order given."""
        starts, lengths = self.indptr[rows], np.diff(self.indptr)[rows]
        # Position k of output row r reads stored entry starts[r] + k.
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return np.asarray(np.repeat(starts, lengths) + offsets, dtype=np.int64)

    def take(self, rows: npt.NDArray[np.int64]) -> CountRows:
        picked = self.positions(rows)
        indptr = np.concatenate([[0], np.cumsum(np.diff(self.indptr)[rows])]).astype(np.int64)
        return CountRows(indptr, self.ids[picked], self.counts[picked])


@dataclass(frozen=True)
class NgramFeaturizer:
    bits: int = 18  # buckets per bank: 2**bits word buckets, then 2**bits character buckets

    @property
    def size(self) -> int:
        return 2 << self.bits

    def count_rows(self, texts: Sequence[str]) -> CountRows:
        """Each text's buckets (sorted, unique) and how often each occurs."""
        word_rows, word_hashes = _word_hashes(texts)
        char_rows, char_hashes = _char_hashes(texts)
        mask = np.uint32((1 << self.bits) - 1)
        buckets = np.concatenate(
            [
                (word_hashes & mask).astype(np.int64),
                (char_hashes & mask).astype(np.int64) + (1 << self.bits),
            ]
        )
        keys = np.concatenate([word_rows, char_rows]) * self.size + buckets
        unique, counts = np.unique(keys, return_counts=True)
        rows = unique // self.size
        indptr = np.searchsorted(rows, np.arange(len(texts) + 1)).astype(np.int64)
        return CountRows(indptr, unique % self.size, counts.astype(np.float32))

    def weighted(self, rows: CountRows, idf: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """Sublinear tf-idf values of `rows`, each bank of each row scaled to unit length."""
        values = (1.0 + np.log(rows.counts)) * idf[rows.ids].astype(np.float32)
        group = rows.row_of * 2 + (rows.ids >= (1 << self.bits))
        norms = np.sqrt(np.bincount(group, weights=values**2, minlength=2 * len(rows)))
        return np.asarray(values / norms[group], dtype=np.float32)


@dataclass(frozen=True, eq=False)
class NgramModel:
    featurizer: NgramFeaturizer
    idf: npt.NDArray[np.float32]  # (featurizer.size,)
    weights: npt.NDArray[np.float32]  # (featurizer.size, n_labels)
    bias: npt.NDArray[np.float32]  # (n_labels,)
    temperature: float  # fitted on held-out predictions, like the heads'

    def __post_init__(self) -> None:
        size = self.featurizer.size
        if self.idf.shape != (size,) or self.weights.ndim != 2 or self.weights.shape[0] != size:
            raise NgramModelError(
                f"n-gram shapes idf {self.idf.shape}, weights {self.weights.shape} "
                f"do not fit 2 x 2**{self.featurizer.bits} buckets"
            )
        if self.bias.shape != (self.weights.shape[1],):
            raise NgramModelError(f"bias {self.bias.shape} for {self.weights.shape[1]} labels")
        if not self.temperature > 0:
            raise NgramModelError(f"temperature must be > 0, got {self.temperature}")

    @property
    def n_labels(self) -> int:
        return int(self.weights.shape[1])

    def logits(self, rows: CountRows) -> npt.NDArray[np.float32]:
        """Untempered logits of counted texts."""
        contributions = self.featurizer.weighted(rows, self.idf)[:, None] * self.weights[rows.ids]
        row_of = rows.row_of
        columns = [
            np.bincount(row_of, weights=contributions[:, label], minlength=len(rows))
            for label in range(self.n_labels)
        ]
        return np.asarray(np.stack(columns, axis=1) + self.bias, dtype=np.float32)

    def probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        scaled = self.logits(self.featurizer.count_rows(texts)) / np.float32(self.temperature)
        scaled -= scaled.max(axis=1, keepdims=True)
        exp = np.exp(scaled)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float32)

    def distribution(
        self, vectors: npt.NDArray[np.float32], texts: Sequence[str]
    ) -> npt.NDArray[np.float32]:
        """The model's distribution, as a pipeline component (vectors are not read)."""
        return self.probabilities(texts)

    def settings(self) -> dict[str, Any]:
        """What the manifest declares of this model (its weights go to the file)."""
        return {"temperature": self.temperature}

    def save(self, path: Path) -> None:
        codes, scales = _int8(self.weights)
        tensors: dict[str, npt.NDArray[Any]] = {
            "idf": self.idf.astype(np.float16),
            "weights_int8": codes,
            "weight_scales": scales,
            "bias": self.bias.astype(np.float32),
        }
        metadata = {"bits": str(self.featurizer.bits)}
        save_file(tensors, str(path), metadata=metadata)

    @classmethod
    def load(cls, path: Path, *, temperature: float) -> NgramModel:
        """The stored model, at the temperature the manifest declares."""
        try:
            tensors, metadata = read_tensor_file(path)
            return cls(
                featurizer=NgramFeaturizer(bits=int(metadata["bits"])),
                idf=tensors["idf"].astype(np.float32),
                weights=tensors["weights_int8"].astype(np.float32) * tensors["weight_scales"],
                bias=tensors["bias"],
                temperature=temperature,
            )
        except (KeyError, ValueError, OSError) as e:
            raise NgramModelError(f"unreadable n-gram model {path}: {e}") from e

    def stored(self) -> NgramModel:
        """This model as `load` returns it after `save` (int8 weights, float16 idf)."""
        codes, scales = _int8(self.weights)
        return NgramModel(
            featurizer=self.featurizer,
            idf=self.idf.astype(np.float16).astype(np.float32),
            weights=codes.astype(np.float32) * scales,
            bias=self.bias,
            temperature=self.temperature,
        )


def _word_hashes(
    texts: Sequence[str],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32]]:
    """(row, hash) of every word unigram and bigram; a text has a few dozen words at most."""
    rows: list[int] = []
    hashes: list[int] = []
    for row, text in enumerate(texts):
        words = [zlib.crc32(w.encode(_UTF8, _LONE_SURROGATES)) for w in _WORD.findall(text.lower())]
        rows.extend([row] * len(words))
        hashes.extend(words)
    unigrams = np.array(hashes, dtype=np.uint32)
    unigram_rows = np.array(rows, dtype=np.int64)
    follows = unigram_rows[1:] == unigram_rows[:-1]  # a bigram never spans two texts
    first, second = unigrams[:-1][follows], unigrams[1:][follows]
    bigrams = _finalise((first * _FNV_PRIME) ^ second ^ _BIGRAM_SEED)
    rows_out = np.concatenate([unigram_rows, unigram_rows[1:][follows]])
    return rows_out, np.concatenate([unigrams, bigrams])


def _char_hashes(
    texts: Sequence[str],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32]]:
    """(row, hash) of every 2-5-byte gram inside each space-padded token, all texts at once."""
    padded = [
        [b" " + t.encode(_UTF8, _LONE_SURROGATES) + b" " for t in text.lower().split()]
        for text in texts
    ]
    lengths = np.array([len(t) for tokens in padded for t in tokens], dtype=np.int64)
    token_rows = np.repeat(np.arange(len(texts)), [len(tokens) for tokens in padded])
    data = np.frombuffer(b"".join(t for tokens in padded for t in tokens), dtype=np.uint8)
    token_of = np.repeat(np.arange(len(lengths)), lengths)
    rows: list[npt.NDArray[np.int64]] = []
    hashes: list[npt.NDArray[np.uint32]] = []
    for n in _CHAR_SIZES:
        starts = len(data) - n + 1
        if starts <= 0:
            continue
        inside = token_of[:starts] == token_of[n - 1 :]  # the gram stays within one token
        h = np.full(starts, _FNV_OFFSET ^ np.uint32(n), dtype=np.uint32)
        for offset in range(n):
            h ^= data[offset : offset + starts]
            h *= _FNV_PRIME
        hashes.append(_finalise(h[inside]))
        rows.append(token_rows[token_of[:starts][inside]])
    if not hashes:
        return np.zeros(0, np.int64), np.zeros(0, np.uint32)
    return np.concatenate(rows), np.concatenate(hashes)


def _finalise(h: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """murmur3's fmix32: every input bit reaches the low bits that pick the bucket."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return np.asarray(h ^ (h >> np.uint32(16)), dtype=np.uint32)


def _int8(weights: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Codes in [-127, 127] and one scale per label (column)."""
    scales = np.asarray(np.maximum(np.abs(weights).max(axis=0), 1e-12) / 127.0, dtype=np.float32)
    return np.round(weights / scales).astype(np.int8), scales
