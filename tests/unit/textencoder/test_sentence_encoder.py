from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from textencoder import EncoderLoadError, SentenceEncoder, default_model_dir

MIXED_LENGTHS = [
    "My card was stolen yesterday evening outside the train station and I need a new one.",
    "hi",
    "Where is my money?",
    "I have been waiting for a refund on a cancelled order for over a month, and every time "
    "I contact support I get a different answer about when it will finally show up.",
    "Cancel my transfer please",
]


def test_encode_returns_unit_length_float32_vectors_of_dim_384(
    encoder: SentenceEncoder,
) -> None:
    vectors = encoder.encode(["I lost my card", "thanks a lot"])
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_encode_preserves_input_order_under_length_bucketing(encoder: SentenceEncoder) -> None:
    together = encoder.encode(MIXED_LENGTHS, batch_size=2)
    one_by_one = np.stack([encoder.encode([text])[0] for text in MIXED_LENGTHS])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_texts(encoder: SentenceEncoder) -> None:
    card, card_again, weather = encoder.encode(
        ["My new card has not arrived yet", "I am still waiting for my card", "It rains today"]
    )
    assert card @ card_again > card @ weather + 0.3


def test_long_texts_are_truncated_to_max_length(encoder: SentenceEncoder) -> None:
    (ids,) = encoder.token_ids(["refund " * 500])
    assert len(ids) == encoder.max_length
    assert encoder.encode(["refund " * 500]).shape == (1, 384)


def test_padding_stops_at_the_smallest_bucket_that_fits(encoder: SentenceEncoder) -> None:
    batch = encoder.tokenize(["short one", "a slightly longer but still short sentence"])
    assert batch.input_ids.shape[1] == encoder.length_buckets[0]
    assert batch.attention_mask.sum(axis=1).tolist() == batch.lengths.tolist()


def test_encode_of_no_texts_is_an_empty_matrix(encoder: SentenceEncoder) -> None:
    assert encoder.encode([]).shape == (0, 384)


def test_varied_batch_shapes_do_not_retrace_the_forward_function(
    encoder: SentenceEncoder,
) -> None:
    encoder.encode(["warm"])
    traced = encoder.pooled_function.experimental_get_tracing_count()
    encoder.encode(MIXED_LENGTHS, batch_size=3)
    encoder.encode(["x " * 100] * 5)
    assert encoder.pooled_function.experimental_get_tracing_count() == traced


def test_mixed_precision_vectors_match_float32_ones(encoder: SentenceEncoder) -> None:
    """The float16 compute that GPUs use by default, run here on the CPU (slowly)."""
    half = SentenceEncoder(mixed_precision=True)
    assert half.keras_model.compute_dtype == "float16"
    vectors = half.encode(MIXED_LENGTHS)  # one pass, padded to the longest text's bucket
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Measured: cosine >= 0.9999987 (1 - 1.3e-6); float16 hidden states within 4e-3.
    cosines = np.sum(vectors * encoder.encode(MIXED_LENGTHS), axis=1)
    assert cosines.min() >= 0.9999


def test_word_embeddings_and_token_ids_support_explanations(encoder: SentenceEncoder) -> None:
    (ids,) = encoder.token_ids(["card arrived"])
    tokens = [encoder.id_to_token(i) for i in ids]
    assert tokens == ["[CLS]", "card", "arrived", "[SEP]"]
    assert encoder.is_special(ids[0]) and encoder.is_special(ids[-1])
    assert tuple(encoder.word_embeddings.shape) == (30522, 384)


def test_default_model_dir_holds_the_installed_weights() -> None:
    assert (default_model_dir() / "model.safetensors").is_file()


def test_a_folder_without_weights_fails_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EncoderLoadError, match=r"model\.safetensors"):
        SentenceEncoder(tmp_path)
