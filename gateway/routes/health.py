"""Probes: /healthz says the process runs, /readyz that every upstream is SERVING."""

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
    status: Literal["ready"]
    upstreams: dict[str, str]


def health_router(upstreams: Upstreams, settings: GatewaySettings) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> Health:
        """The process is up and serving HTTP; says nothing about the services behind it."""
        return Health(status="ok")

    @router.get("/readyz", responses=problem_responses(503))
    def readyz() -> Readiness:
        """200 when every upstream's grpc.health.v1 check answers SERVING, else 503."""
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
        not_serving = {name: state for name, state in states.items() if state != "SERVING"}
        if not_serving:
            listed = ", ".join(f"{name} ({state})" for name, state in not_serving.items())
            raise Problem(503, "not-ready", "Not ready", f"Upstreams not serving: {listed}.")
        return Readiness(status="ready", upstreams=states)

    return router
