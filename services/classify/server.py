"""gRPC ClassifyService: translates protobuf to engine calls and back."""

import grpc
from carepulse.v1 import classify_pb2, classify_pb2_grpc

from services.classify.conversions import to_classification
from services.classify.engine import ClassificationEngine


class ClassifyServicer(classify_pb2_grpc.ClassifyServiceServicer):  # type: ignore[misc]
    def __init__(
        self, engine: ClassificationEngine, *, max_texts: int, max_text_chars: int
    ) -> None:
        self._engine = engine
        self._max_texts = max_texts
        self._max_text_chars = max_text_chars

    def Classify(
        self, request: classify_pb2.ClassifyRequest, context: grpc.ServicerContext
    ) -> classify_pb2.ClassifyResponse:
        self._check_texts([request.text], context)
        (prediction,) = self._engine.classify([request.text], explain=request.explain)
        return classify_pb2.ClassifyResponse(classification=to_classification(prediction))

    def ClassifyBatch(
        self, request: classify_pb2.ClassifyBatchRequest, context: grpc.ServicerContext
    ) -> classify_pb2.ClassifyBatchResponse:
        texts = list(request.texts)
        if len(texts) > self._max_texts:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"at most {self._max_texts} texts per batch, got {len(texts)}",
            )
        self._check_texts(texts, context)
        predictions = self._engine.classify(texts)
        return classify_pb2.ClassifyBatchResponse(
            classifications=[to_classification(p) for p in predictions]
        )

    def _check_texts(self, texts: list[str], context: grpc.ServicerContext) -> None:
        for index, text in enumerate(texts):
            if not text.strip():
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"texts[{index}] is empty")
            if len(text) > self._max_text_chars:
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"texts[{index}] has {len(text)} characters; the limit is "
                    f"{self._max_text_chars}",
                )
