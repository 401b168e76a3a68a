"""The knowledge index's embedder over classify's real gRPC Embed, against a stand-in classify."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import numpy as np
import pytest
from carepulse.v1 import classify_pb2, classify_pb2_grpc, events_pb2

from services.recommend.classify_embedder import ClassifyEmbedder
from services.recommend.knowledge_index import EmbeddingUnavailable


class FakeClassify(classify_pb2_grpc.ClassifyServiceServicer):  # type: ignore[misc]
    """Embeds text i of a call as the one-hot vector of its length; records each call's size.
    After `switch_after` calls it serves another encoder, as during a rollout."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.switch_after: int | None = None

    def Embed(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append(len(request.texts))
        switched = self.switch_after is not None and len(self.calls) > self.switch_after
        encoder_id = "minilm:new" if switched else "minilm:old"
        vectors = []
        for text in request.texts:
            one_hot = np.zeros(8, "<f2")
            one_hot[len(text) % 8] = 1.0
            vectors.append(
                events_pb2.SentenceVector(encoder_id=encoder_id, float16_le=one_hot.tobytes())
            )
        return classify_pb2.EmbedResponse(encoder_id=encoder_id, vectors=vectors)


@pytest.fixture
def classify() -> Iterator[tuple[FakeClassify, grpc.Channel]]:
    fake = FakeClassify()
    server = grpc.server(ThreadPoolExecutor(2))
    classify_pb2_grpc.add_ClassifyServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield fake, channel
    channel.close()
    server.stop(grace=None)


def test_texts_are_embedded_a_batch_per_call_and_kept_in_order(
    classify: tuple[FakeClassify, grpc.Channel],
) -> None:
    fake, channel = classify
    texts = ["a" * n for n in range(1, 6)]

    embedded = ClassifyEmbedder(channel, batch_size=2, deadline_s=5).embed(texts)

    assert fake.calls == [2, 2, 1]
    assert embedded.encoder_id == "minilm:old"
    assert embedded.vectors.dtype == np.float32
    assert [int(row.argmax()) for row in embedded.vectors] == [1, 2, 3, 4, 5]


def test_the_encoder_id_is_asked_with_no_texts(classify: tuple[FakeClassify, grpc.Channel]) -> None:
    fake, channel = classify

    assert ClassifyEmbedder(channel, batch_size=2, deadline_s=5).encoder_id() == "minilm:old"
    assert fake.calls == [0]


def test_an_encoder_change_between_calls_fails_the_load_rather_than_mix_vectors(
    classify: tuple[FakeClassify, grpc.Channel],
) -> None:
    fake, channel = classify
    fake.switch_after = 1

    with pytest.raises(EmbeddingUnavailable, match="changed encoder"):
        ClassifyEmbedder(channel, batch_size=2, deadline_s=5).embed(["a", "b", "c"])


def test_an_unreachable_classify_is_reported_as_unavailable() -> None:
    with grpc.insecure_channel("127.0.0.1:1") as channel:
        embedder = ClassifyEmbedder(channel, batch_size=2, deadline_s=1)
        with pytest.raises(EmbeddingUnavailable, match="UNAVAILABLE"):
            embedder.encoder_id()
