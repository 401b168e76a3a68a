"""The gRPC services behind the gateway: one channel and stub each, plus their health checks."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import grpc
from carepulse.v1 import (
    alert_pb2_grpc,
    classify_pb2_grpc,
    ingest_pb2_grpc,
    recommend_pb2_grpc,
)
from grpc_health.v1 import health_pb2_grpc

from gateway.settings import GatewaySettings
from servicekit.grpc.client import open_channel

_HEALTH_CHECK = "grpc.health.v1.Health/Check"

# Only calls that change nothing are retried on UNAVAILABLE: a retried Ingest, IngestBatch,
# RecordFeedback or Acknowledge could publish or apply twice.
_RETRY_METHODS = {
    "ingest": (_HEALTH_CHECK,),
    "classify": (_HEALTH_CHECK, "carepulse.v1.ClassifyService/Classify"),
    "recommend": (
        _HEALTH_CHECK,
        "carepulse.v1.RecommendService/Recommend",
        "carepulse.v1.RecommendService/CheckFeedback",
    ),
    "alert": (_HEALTH_CHECK, "carepulse.v1.AlertService/ListAlerts"),
}


@dataclass(frozen=True)
class HealthCheck:
    upstream: str  # "ingest", as operators name it
    service: str  # the grpc.health.v1 service name the upstream reports on
    stub: Any


class Upstreams:
    """Stubs over channels the caller opened; `close()` closes those channels.

    Alert streams get a channel each from `alert_stream_channel` (see gateway.alert_streams).
    """

    def __init__(
        self,
        *,
        ingest: grpc.Channel,
        classify: grpc.Channel,
        recommend: grpc.Channel,
        alert: grpc.Channel,
        alert_stream_channel: Callable[[], grpc.Channel],
    ) -> None:
        self._channels = (ingest, classify, recommend, alert)
        self.ingest = ingest_pb2_grpc.IngestServiceStub(ingest)
        self.classify = classify_pb2_grpc.ClassifyServiceStub(classify)
        self.recommend = recommend_pb2_grpc.RecommendServiceStub(recommend)
        self.alert = alert_pb2_grpc.AlertServiceStub(alert)
        self.alert_stream_channel = alert_stream_channel
        self.health_checks = (
            HealthCheck("ingest", "carepulse.v1.IngestService", _health(ingest)),
            HealthCheck("classify", "carepulse.v1.ClassifyService", _health(classify)),
            HealthCheck("recommend", "carepulse.v1.RecommendService", _health(recommend)),
            HealthCheck("alert", "carepulse.v1.AlertService", _health(alert)),
        )

    def close(self) -> None:
        for channel in self._channels:
            channel.close()


def open_upstreams(settings: GatewaySettings) -> Upstreams:
    return Upstreams(
        ingest=open_channel(settings.ingest_addr, retry_methods=_RETRY_METHODS["ingest"]),
        classify=open_channel(settings.classify_addr, retry_methods=_RETRY_METHODS["classify"]),
        recommend=open_channel(settings.recommend_addr, retry_methods=_RETRY_METHODS["recommend"]),
        alert=open_channel(settings.alert_addr, retry_methods=_RETRY_METHODS["alert"]),
        alert_stream_channel=partial(open_channel, settings.alert_addr, traced=False),
    )


def _health(channel: grpc.Channel) -> Any:
    return health_pb2_grpc.HealthStub(channel)
