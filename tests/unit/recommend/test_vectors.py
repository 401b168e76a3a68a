"""Classify's float16 vectors decode to exactly what it encoded, and nothing else decodes."""

import numpy as np
import pytest

from services.recommend.vectors import MalformedVector, decode_float16, query_vector


def test_half_floats_decode_little_endian() -> None:
    assert decode_float16(bytes.fromhex("003c00c0")).tolist() == [1.0, -2.0]


def test_a_unit_vector_survives_the_wire_within_half_float_precision() -> None:
    vector = np.random.default_rng(3).normal(size=384).astype(np.float32)
    vector /= np.linalg.norm(vector)

    decoded = decode_float16(vector.astype("<f2").tobytes())

    assert decoded.dtype == np.float32
    assert np.abs(decoded - vector).max() < 5e-4  # 11 significant bits on values below 1
    assert float(decoded @ vector) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize(
    ("float16_le", "problem"),
    [
        (b"", "empty"),
        (b"\x00\x3c\x00", "whole number"),
        (bytes.fromhex("007e003c"), "finite"),  # NaN
        (bytes(8), "non-zero"),
    ],
)
def test_unusable_bytes_are_refused_with_the_reason(float16_le: bytes, problem: str) -> None:
    with pytest.raises(MalformedVector, match=problem):
        decode_float16(float16_le)


def test_a_vector_that_names_no_encoder_is_refused() -> None:
    with pytest.raises(MalformedVector, match="no encoder"):
        query_vector("", bytes.fromhex("003c0000"))
    assert query_vector("e:1", bytes.fromhex("003c0000")).encoder_id == "e:1"
