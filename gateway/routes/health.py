"""Probes: /healthz says the process runs, /readyz whether this gateway can take requests.

Readiness is the gateway's own: an upstream that is down makes its routes answer 503 problems,
but must not take every gateway replica out of the load balancer (which would turn one
service's outage into a total one). The upstreams' states are reported for operators.
"""

from collections.abc import Callable
from typing import Literal

import grpc
from fastapi import APIRouter
from grpc_health.v1 import health_pb2
from pydantic import BaseModel

from gateway.problems import Problem, problem_responses
from gateway.settings import GatewaySettings
from gateway.upstreams import Upstreams


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "degraded"]  # degraded: some upstream is not SERVING
    upstreams: dict[str, str]


def health_router(
    upstreams: Upstreams, settings: GatewaySettings, shutting_down: Callable[[], bool]
) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> Health:
        """The process is up and serving HTTP; says nothing about the services behind it."""
        return Health(status="ok")

    @router.get("/readyz", responses=problem_responses(503))
    def readyz() -> Readiness:
        """200 while this gateway takes requests, with each upstream's grpc.health.v1 state;
        503 once it is shutting down."""
        if shutting_down():
            raise Problem(
                503,
                "shutting-down",
                "Shutting down",
                "This gateway instance is shutting down; send requests to another one.",
            )
        # All checks in flight at once: readiness takes one deadline, not four.
        pending = [
            (
                check.upstream,
                check.stub.Check.future(
                    health_pb2.HealthCheckRequest(service=check.service),
                    timeout=settings.health_deadline_s,
                ),
            )
            for check in upstreams.health_checks
        ]
        states: dict[str, str] = {}
        for upstream, future in pending:
            try:
                states[upstream] = health_pb2.HealthCheckResponse.ServingStatus.Name(
                    future.result().status
                )
            except grpc.RpcError as error:
                states[upstream] = error.code().name if isinstance(error, grpc.Call) else "ERROR"
        serving = all(state == "SERVING" for state in states.values())
        return Readiness(status="ready" if serving else "degraded", upstreams=states)

    return router
