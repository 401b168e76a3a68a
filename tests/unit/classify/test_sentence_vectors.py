"""Every prediction carries its message's sentence vector, and Embed serves the same vectors."""

from __future__ import annotations

from dataclasses import replace

import grpc
import numpy as np
import numpy.typing as npt
import pytest
from carepulse.v1 import classify_pb2

from services.classify.bundle import ModelBundle, load_bundle
from services.classify.engine import ClassificationEngine
from services.classify.model import encoder_id
from services.classify.prediction import SentenceVector
from services.classify.server import ClassifyServicer
from textencoder import SentenceEncoder

from .conftest import COMMITTED_BUNDLE


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code


class FakeContext:
    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code, details)

    def time_remaining(self) -> float | None:
        return None


def _values(vector: SentenceVector) -> npt.NDArray[np.float32]:
    return np.frombuffer(vector.float16_le, dtype="<f2").astype(np.float32)


def test_a_prediction_carries_the_encoders_unit_vector_as_float16(
    engine: ClassificationEngine, encoder: SentenceEncoder
) -> None:
    text = "The card you sent me last week never arrived"
    (prediction,) = engine.classify([text])

    vector = prediction.sentence_vector
    assert vector.encoder_id == engine.encoder_id
    assert len(vector.float16_le) == 2 * encoder.dim
    values = _values(vector)
    assert float(np.linalg.norm(values)) == pytest.approx(1.0, abs=1e-3)
    # The engine serves int8 on a CPU: ~0.99 cosine to the float encoder (0.985 at worst over
    # 1,003 Banking77 messages).
    assert float(values @ encoder.encode([text])[0]) > 0.97


def test_cached_and_explained_predictions_carry_the_same_vector(
    engine: ClassificationEngine,
) -> None:
    text = "Please freeze my account, my phone was stolen"
    (first,) = engine.classify([text])
    (cached,) = engine.classify([text])
    (explained,) = engine.classify([text + " "], explain=True)  # computed afresh

    assert cached.sentence_vector == first.sentence_vector
    assert float(_values(explained.sentence_vector) @ _values(first.sentence_vector)) > 0.999


def test_the_encoder_id_names_the_base_weights_and_the_adapters_not_the_heads(
    bundle: ModelBundle,
) -> None:
    served = load_bundle(COMMITTED_BUNDLE)  # fine-tuned: carries adapters
    assert served.adapters is not None
    assert encoder_id(served).startswith("all-MiniLM-L6-v2:")
    assert encoder_id(served) != encoder_id(bundle)
    # New heads on the same encoder embed alike: same id. Without the adapters: the base's.
    assert encoder_id(replace(served, version="v99", intent=bundle.intent)) == encoder_id(served)
    assert encoder_id(replace(served, adapters=None)) == encoder_id(bundle)


def test_embed_answers_each_texts_vector_in_order_as_classify_computes_it(
    engine: ClassificationEngine,
) -> None:
    servicer = ClassifyServicer(engine, max_texts=4, max_text_chars=100)
    texts = ["How do I top up by bank transfer?", "my pin is blocked"]

    response = servicer.Embed(classify_pb2.EmbedRequest(texts=texts), FakeContext())

    assert response.encoder_id == engine.encoder_id
    classified = [
        servicer.Classify(classify_pb2.ClassifyRequest(text=t), FakeContext()).classification
        for t in texts
    ]
    assert list(response.vectors) == [c.sentence_vector for c in classified]
    assert {v.encoder_id for v in response.vectors} == {engine.encoder_id}


def test_embed_of_no_texts_names_the_encoder_and_more_than_a_batch_is_refused(
    engine: ClassificationEngine,
) -> None:
    servicer = ClassifyServicer(engine, max_texts=2, max_text_chars=100)

    empty = servicer.Embed(classify_pb2.EmbedRequest(), FakeContext())
    assert (empty.encoder_id, list(empty.vectors)) == (engine.encoder_id, [])
    with pytest.raises(Aborted) as refused:
        servicer.Embed(classify_pb2.EmbedRequest(texts=["a", "b", "c"]), FakeContext())
    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
