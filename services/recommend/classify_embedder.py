"""The knowledge index's `Embedder` over classify's Embed RPC: protobuf in and out, here only."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import numpy as np
import numpy.typing as npt
from carepulse.v1 import classify_pb2, classify_pb2_grpc

from services.recommend.knowledge_index import EmbeddedTexts, EmbeddingUnavailable
from services.recommend.vectors import MalformedVector, decode_float16

EMBED_METHOD = "carepulse.v1.ClassifyService/Embed"


class ClassifyEmbedder:
    def __init__(self, channel: grpc.Channel, *, batch_size: int, deadline_s: float) -> None:
        self._stub = classify_pb2_grpc.ClassifyServiceStub(channel)
        self._batch_size = batch_size  # at most classify's CLASSIFY_MAX_TEXTS_PER_REQUEST
        self._deadline_s = deadline_s  # per call

    def encoder_id(self) -> str:
        return self._call([]).encoder_id

    def embed(self, texts: Sequence[str]) -> EmbeddedTexts:
        """Every text's vector, `batch_size` per call. All from one encoder: should classify
        change encoder between calls (a rollout), EmbeddingUnavailable, and the load retries."""
        encoder_id = ""
        rows: list[npt.NDArray[np.float32]] = []
        for start in range(0, len(texts), self._batch_size):
            response = self._call(texts[start : start + self._batch_size])
            encoder_id = encoder_id or response.encoder_id
            if {response.encoder_id, *(v.encoder_id for v in response.vectors)} != {encoder_id}:
                raise EmbeddingUnavailable("classify changed encoder while embedding; retrying")
            try:
                rows.extend(decode_float16(v.float16_le) for v in response.vectors)
            except MalformedVector as error:
                raise EmbeddingUnavailable(f"classify sent a malformed vector: {error}") from error
        return EmbeddedTexts(encoder_id, np.stack(rows))

    def _call(self, texts: Sequence[str]) -> classify_pb2.EmbedResponse:
        try:
            response: classify_pb2.EmbedResponse = self._stub.Embed(
                classify_pb2.EmbedRequest(texts=texts), timeout=self._deadline_s
            )
        except grpc.RpcError as error:
            # Retried whatever the code: INVALID_ARGUMENT too (RECOMMEND_EMBED_BATCH_SIZE above
            # classify's limit), which the log then names with classify's detail.
            code = error.code().name if isinstance(error, grpc.Call) else "unknown"
            detail = error.details() if isinstance(error, grpc.Call) else ""
            raise EmbeddingUnavailable(f"classify's Embed failed: {code} {detail}") from error
        if len(response.vectors) != len(texts):
            raise EmbeddingUnavailable(
                f"classify sent {len(response.vectors)} vectors for {len(texts)} texts"
            )
        return response
