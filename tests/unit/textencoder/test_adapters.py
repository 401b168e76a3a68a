from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from textencoder import EncoderAdapters, EncoderLoadError, SentenceEncoder
from textencoder.lora import LoraTraining, named_denses, named_vectors

QUERY = "encoder.layer.0.attention.self.query"
FFN_OUT = "encoder.layer.5.output.dense"
TEXTS = ["my card has not arrived yet", "thanks, that was quick!"]


def tiny_adapters(rank: int = 2, seed: int = 0) -> EncoderAdapters:
    rng = np.random.default_rng(seed)

    def pair(fan_in: int, fan_out: int) -> tuple[np.ndarray, np.ndarray]:
        a = rng.normal(0, 0.05, (fan_in, rank)).astype(np.float32)
        return a, rng.normal(0, 0.05, (rank, fan_out)).astype(np.float32)

    return EncoderAdapters(
        scale=2.0,
        low_rank={QUERY: pair(384, 384), FFN_OUT: pair(1536, 384)},
        additive={
            "encoder.layer.0.output.LayerNorm.bias": rng.normal(0, 0.01, 384).astype(np.float32)
        },
    )


@pytest.fixture()
def fresh_encoder() -> SentenceEncoder:
    """A private encoder: merging changes its weights, so never the shared session one."""
    return SentenceEncoder()


def test_merged_kernel_reproduces_a_direct_w_plus_ab_forward(
    fresh_encoder: SentenceEncoder,
) -> None:
    adapters = tiny_adapters()
    dense = named_denses(fresh_encoder.keras_model)[QUERY]
    w, b = dense.kernel.numpy().astype(np.float64), dense.bias.numpy().astype(np.float64)
    a, bb = (m.astype(np.float64) for m in adapters.low_rank[QUERY])
    x = np.random.default_rng(1).normal(0, 1, (3, 384)).astype(np.float32)
    expected = x @ w + adapters.scale * (x @ a) @ bb + b

    fresh_encoder.merge_adapters(adapters)

    merged = dense(tf.constant(x)).numpy()
    np.testing.assert_allclose(merged, expected, rtol=0, atol=1e-4)
    assert fresh_encoder.adapters_sha256 == adapters.sha256


def test_merged_encoder_embeds_exactly_like_the_training_time_lora_model(
    fresh_encoder: SentenceEncoder,
) -> None:
    adapters = tiny_adapters()
    training = SentenceEncoder()
    lora = LoraTraining(training.keras_model, rank=2, alpha=4.0, targets=(QUERY, FFN_OUT))
    for name, (a, b) in adapters.low_rank.items():
        lora.wrapped[name].lora_a.assign(a)
        lora.wrapped[name].lora_b.assign(b)
    vectors = named_vectors(training.keras_model)
    for name, delta in adapters.additive.items():
        vectors[name].assign_add(delta)
    base = fresh_encoder.encode(TEXTS)

    fresh_encoder.merge_adapters(adapters)

    np.testing.assert_allclose(fresh_encoder.encode(TEXTS), training.encode(TEXTS), atol=1e-5)
    assert np.abs(fresh_encoder.encode(TEXTS) - base).max() > 1e-3  # the deltas do something
    exported = lora.export()
    assert set(exported.low_rank) == {QUERY, FFN_OUT}
    assert exported.scale == adapters.scale


def test_adapters_round_trip_through_safetensors(tmp_path: Path) -> None:
    adapters = tiny_adapters()
    loaded = EncoderAdapters.load(adapters.save(tmp_path / "adapters.safetensors"))
    assert loaded.sha256 == adapters.sha256
    assert loaded.rank == 2


def test_merging_the_same_adapters_twice_is_a_no_op_and_other_ones_are_refused(
    fresh_encoder: SentenceEncoder,
) -> None:
    fresh_encoder.merge_adapters(tiny_adapters())
    once = fresh_encoder.encode(TEXTS)
    fresh_encoder.merge_adapters(tiny_adapters())
    np.testing.assert_array_equal(fresh_encoder.encode(TEXTS), once)
    with pytest.raises(EncoderLoadError, match="already carries"):
        fresh_encoder.merge_adapters(tiny_adapters(seed=1))


def test_adapters_for_weights_the_encoder_lacks_are_refused_before_any_change(
    fresh_encoder: SentenceEncoder,
) -> None:
    a, b = np.zeros((384, 2), np.float32), np.zeros((2, 384), np.float32)
    bad = EncoderAdapters(
        scale=1.0, low_rank={QUERY: (a, b), "encoder.layer.9.output.dense": (a, b)}, additive={}
    )
    with pytest.raises(EncoderLoadError, match="does not have"):
        fresh_encoder.merge_adapters(bad)
    assert fresh_encoder.adapters_sha256 is None
