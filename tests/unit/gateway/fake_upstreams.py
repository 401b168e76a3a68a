"""In-process stand-ins for the four services, served over real gRPC on a local port."""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
from carepulse.v1 import (
    alert_pb2,
    alert_pb2_grpc,
    classify_pb2,
    classify_pb2_grpc,
    events_pb2,
    ingest_pb2,
    ingest_pb2_grpc,
    recommend_pb2,
    recommend_pb2_grpc,
)
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

SERVICE_NAMES = (
    "carepulse.v1.IngestService",
    "carepulse.v1.ClassifyService",
    "carepulse.v1.RecommendService",
    "carepulse.v1.AlertService",
)


@dataclass
class Failure:
    """Makes the next calls of a fake end with this status."""

    code: grpc.StatusCode
    detail: str


class FakeIngest(ingest_pb2_grpc.IngestServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.batches: list[Any] = []
        self.failure: Failure | None = None
        self._seen: set[str] = set()

    def Ingest(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._fail_if_asked(context)
        self.requests.append(request)
        return ingest_pb2.IngestResponse(
            message_id=f"m-{len(self.requests)}",
            text=request.text.replace("alice@example.com", "[email]"),
        )

    def IngestBatch(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._fail_if_asked(context)
        self.batches.append(request)
        self.requests.extend(request.messages)
        results = []
        for index, message in enumerate(request.messages):
            duplicate = bool(message.external_id) and message.external_id in self._seen
            self._seen.add(message.external_id)
            results.append(ingest_pb2.IngestResponse(message_id=f"b-{index}", duplicate=duplicate))
        return ingest_pb2.IngestBatchResponse(results=results)

    def RecordFeedback(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._fail_if_asked(context)
        self.requests.append(request)
        return ingest_pb2.RecordFeedbackResponse(feedback_id="f-1")

    def _fail_if_asked(self, context: grpc.ServicerContext) -> None:
        if self.failure is not None:
            context.abort(self.failure.code, self.failure.detail)


class FakeClassify(classify_pb2_grpc.ClassifyServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.delay_s = 0.0
        self.crash = False

    def Classify(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.requests.append(request)
        time.sleep(self.delay_s)
        if self.crash:
            raise RuntimeError("model tensor at /models/secret exploded")
        classification = events_pb2.Classification(
            sentiment=events_pb2.SENTIMENT_NEGATIVE,
            sentiment_confidence=0.875,
            intent="billing",
            intent_confidence=0.75,
            intent_candidates=[
                events_pb2.IntentScore(intent="billing", confidence=0.75),
                events_pb2.IntentScore(intent="refund", confidence=0.125),
            ],
            sentence_vector=events_pb2.SentenceVector(
                encoder_id="test-encoder", float16_le=bytes.fromhex("003c0000")
            ),
        )
        if request.explain:
            classification.sentiment_attributions.add(token="refund", weight=0.5)
            classification.intent_attributions.add(token="invoice", weight=0.25)
        return classify_pb2.ClassifyResponse(classification=classification)


class FakeRecommend(recommend_pb2_grpc.RecommendServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.requests: list[Any] = []
        # message id -> (customer id, article ids suggested), as the real service records them
        self.served: dict[str, tuple[str, set[str]]] = {}
        self.failure: Failure | None = None

    def Recommend(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.requests.append(request)
        if request.message_id:
            self.served.setdefault(request.message_id, (request.customer_id, set()))[1].add("kb-7")
        return recommend_pb2.RecommendResponse(
            suggestions=[
                recommend_pb2.Suggestion(
                    article_id="kb-7",
                    title="Refunds",
                    body="How refunds work.",
                    score=0.71,
                    reasons=["semantic=0.71"],
                )
            ]
        )

    def CheckFeedback(self, request: Any, context: grpc.ServicerContext) -> Any:
        if self.failure is not None:
            context.abort(self.failure.code, self.failure.detail)
        customer_id, articles = self.served.get(request.message_id, ("", set()))
        if customer_id != request.customer_id:
            context.abort(grpc.StatusCode.NOT_FOUND, "no suggestions served")
        if request.article_id not in articles:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "article not suggested")
        return recommend_pb2.CheckFeedbackResponse(intent="refund_not_showing_up")


def alert(
    alert_id: str,
    state: events_pb2.AlertState = events_pb2.ALERT_STATE_FIRING,
    kind: events_pb2.AlertKind = events_pb2.ALERT_KIND_NEGATIVE_SHARE,
) -> Any:
    message = events_pb2.Alert(
        alert_id=alert_id,
        topic="billing",
        channel="chat",
        kind=kind,
        state=state,
        severity=events_pb2.SEVERITY_CRITICAL,
        evidence=events_pb2.AlertEvidence(negative_count=9, total_count=12, score=0.9),
    )
    message.opened_at.FromSeconds(1_700_000_000)
    return message


class FakeAlerts(alert_pb2_grpc.AlertServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.list_requests: list[Any] = []
        self.pages: dict[str, Any] = {}  # page_token -> response
        self.events: list[Any] = []
        self.stream_requests: list[Any] = []
        self.stream_cancelled = threading.Event()
        # False: streams hang before the service says they are attached, as when its
        # threads are all busy.
        self.attach_streams = True

    def ListAlerts(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.list_requests.append(request)
        if request.page_token and request.page_token not in self.pages:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "page_token: unknown or expired")
        return self.pages.get(request.page_token, alert_pb2.ListAlertsResponse())

    def StreamAlerts(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        self.stream_requests.append(request)
        done = threading.Event()
        # Set from the callback: gRPC stops iterating a generator whose call was cancelled,
        # so code after a yield never runs when the caller leaves mid-replay.
        context.add_callback(done.set)
        context.add_callback(self.stream_cancelled.set)
        if not self.attach_streams:
            done.wait()
            return
        context.send_initial_metadata((("carepulse-stream", "attached"),))
        for event in self.events:
            if event.sequence > request.after_sequence:
                yield event
        done.wait()  # follows forever, like the real service, until the caller leaves

    def GetAlertSeries(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.alert_id == "a-missing":
            context.abort(grpc.StatusCode.NOT_FOUND, "alert a-missing does not exist")
        series = alert_pb2.AlertSeries(alert_id=request.alert_id)
        series.bucket_width.FromSeconds(60)
        for minute, negatives in enumerate((1, 2, 14)):
            bucket = series.buckets.add(
                negative_count=negatives,
                total_count=20,
                expected_negatives=1.5,
                spike_threshold_negatives=10,
                spiked=negatives >= 10,
                expected_messages=19.5,
                surge_threshold_messages=40,
            )
            bucket.start.FromSeconds(1_700_000_000 + 60 * minute)
        return series

    def Acknowledge(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.alert_id == "a-missing":
            context.abort(grpc.StatusCode.NOT_FOUND, "alert a-missing does not exist")
        if request.alert_id == "a-resolved":
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "alert a-resolved is resolved")
        acknowledged = alert(request.alert_id, events_pb2.ALERT_STATE_ACKNOWLEDGED)
        acknowledged.acknowledgement.operator = request.operator
        acknowledged.acknowledgement.note = request.note
        return acknowledged


@dataclass
class FakeUpstreams:
    address: str
    ingest: FakeIngest
    classify: FakeClassify
    recommend: FakeRecommend
    alerts: FakeAlerts
    health: health.HealthServicer
    server: grpc.Server = field(repr=False)

    def set_serving(self, service: str, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else (health_pb2.HealthCheckResponse.NOT_SERVING)
        )
        self.health.set(service, status)


def start_fake_upstreams() -> FakeUpstreams:
    server = grpc.server(ThreadPoolExecutor(max_workers=16))
    fakes = FakeUpstreams(
        address="",
        ingest=FakeIngest(),
        classify=FakeClassify(),
        recommend=FakeRecommend(),
        alerts=FakeAlerts(),
        health=health.HealthServicer(),
        server=server,
    )
    ingest_pb2_grpc.add_IngestServiceServicer_to_server(fakes.ingest, server)
    classify_pb2_grpc.add_ClassifyServiceServicer_to_server(fakes.classify, server)
    recommend_pb2_grpc.add_RecommendServiceServicer_to_server(fakes.recommend, server)
    alert_pb2_grpc.add_AlertServiceServicer_to_server(fakes.alerts, server)
    health_pb2_grpc.add_HealthServicer_to_server(fakes.health, server)
    for name in SERVICE_NAMES:
        fakes.set_serving(name, True)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    fakes.address = f"127.0.0.1:{port}"
    return fakes
