"""Sentence vectors as classify sends them (`carepulse.v1.SentenceVector`), decoded and checked.

Recommend computes no vector itself: a message's comes with its classification, the knowledge
base's from classify's Embed RPC, all from one encoder. A vector from another encoder would
rank without error and be wrong, so it is refused by name (`ForeignEncoder`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


class MalformedVector(ValueError):
    """Missing, of the wrong size, or not a finite, non-zero vector."""


class ForeignEncoder(Exception):
    """The vector comes from another encoder than the knowledge base's vectors."""

    def __init__(self, received: str, serving: str) -> None:
        super().__init__(
            f"the sentence vector comes from encoder {received!r}, but the knowledge base's "
            f"vectors from {serving!r}; recommend is fetching the knowledge base's vectors for "
            "the encoder classify serves now"
        )
        self.received = received
        self.serving = serving


@dataclass(frozen=True, eq=False)
class QueryVector:
    """A message's vector, ready for the ranker."""

    encoder_id: str
    values: npt.NDArray[np.float32]


def decode_float16(float16_le: bytes) -> npt.NDArray[np.float32]:
    """The float32 vector of `SentenceVector.float16_le` (IEEE 754 half floats, little-endian)."""
    if not float16_le:
        raise MalformedVector("the vector is empty")
    if len(float16_le) % 2:
        raise MalformedVector(f"{len(float16_le)} bytes is not a whole number of half floats")
    values = np.frombuffer(float16_le, dtype="<f2").astype(np.float32)
    if not np.all(np.isfinite(values)) or not values.any():
        raise MalformedVector("the vector must be finite and non-zero")
    return values


def query_vector(encoder_id: str, float16_le: bytes) -> QueryVector:
    """A `QueryVector` from the wire fields; MalformedVector when either is unusable."""
    if not encoder_id:
        raise MalformedVector("the vector names no encoder")
    return QueryVector(encoder_id, decode_float16(float16_le))
