from __future__ import annotations

import numpy as np
import onnxruntime as ort

from textencoder import SentenceEncoder
from textencoder.build_int8 import build_int8_model
from textencoder.onnx_export import export_pooled_encoder
from textencoder.quantized import ATTENTION_MASK, INPUT_IDS, POOLED, Int8Encoder

TEXTS = [
    "My card was stolen yesterday evening outside the train station and I need a new one.",
    "hi",
    "Where is my money?",
    "I have been waiting for a refund on a cancelled order for over a month, and every time "
    "I contact support I get a different answer about when it will finally show up.",
    "Cancel my transfer please",
    "Why was I charged twice for the same coffee?",
]


def test_exported_float_graph_computes_what_tensorflow_computes(
    encoder: SentenceEncoder,
) -> None:
    session = ort.InferenceSession(
        export_pooled_encoder(encoder.keras_model).SerializeToString(),
        providers=["CPUExecutionProvider"],
    )
    batch = encoder.tokenize(TEXTS)  # padded: the mask must keep padding out of attention
    (onnx_vectors,) = session.run(
        [POOLED], {INPUT_IDS: batch.input_ids, ATTENTION_MASK: batch.attention_mask}
    )
    np.testing.assert_allclose(onnx_vectors, encoder.embed_batch(batch), atol=1e-5)


def test_int8_vectors_stay_close_to_float_and_keep_input_order(
    encoder: SentenceEncoder,
) -> None:
    int8 = encoder.int8()
    vectors = int8.encode(TEXTS, batch_size=4)
    float_vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert np.min(np.sum(vectors * float_vectors, axis=1)) > 0.97


def test_int8_keeps_paraphrases_closer_than_unrelated_texts(encoder: SentenceEncoder) -> None:
    card, card_again, weather = encoder.int8().encode(
        ["My new card has not arrived yet", "I am still waiting for my card", "It rains today"]
    )
    assert card @ card_again > card @ weather + 0.3


def test_int8_model_is_built_once_per_weights(encoder: SentenceEncoder) -> None:
    assert encoder.int8() is encoder.int8()


def test_int8_vector_of_a_text_does_not_depend_on_the_other_texts(
    encoder: SentenceEncoder,
) -> None:
    # Activation scales are per tensor: a text must never share a run with another one.
    int8 = encoder.int8()
    alone = int8.encode([TEXTS[0]])
    np.testing.assert_array_equal(int8.encode(TEXTS)[0], alone[0])
    np.testing.assert_array_equal(int8.encode([*TEXTS[3:], TEXTS[0]])[-1], alone[0])


def test_blocks_kept_in_float_are_not_quantized(encoder: SentenceEncoder) -> None:
    float_vectors = encoder.encode(TEXTS)

    def worst_cosine(float_layers: int) -> float:
        model = build_int8_model(encoder, float_layers=float_layers)
        int8 = Int8Encoder(
            model, encoder.tokens, weights_sha256=encoder.weights_sha256, adapters_sha256=None
        )
        vectors = int8.encode(TEXTS)
        return float(np.min(np.sum(vectors * float_vectors, axis=1)))

    # With every block float32 only the int8 word-embedding table is left.
    assert worst_cosine(6) > 0.999 > worst_cosine(0)
