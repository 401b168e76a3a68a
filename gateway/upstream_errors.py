"""How a failed gRPC call to a service becomes the HTTP problem the caller sees.

Statuses that describe the request (INVALID_ARGUMENT, NOT_FOUND, ...) pass the service's
detail through, since it tells the caller what to fix. Statuses that describe the service
(INTERNAL, UNKNOWN, ...) keep their detail to the logs: it may hold internals.
"""

import logging

import grpc

from gateway.problems import Problem

logger = logging.getLogger(__name__)

# An unavailable or slow service usually recovers within seconds (restart, failover).
_RETRY_AFTER_S = "2"

_CALLER_ERRORS: dict[grpc.StatusCode, tuple[int, str, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid-argument", "Invalid request"),
    grpc.StatusCode.OUT_OF_RANGE: (400, "invalid-argument", "Invalid request"),
    grpc.StatusCode.NOT_FOUND: (404, "not-found", "Not found"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "conflict", "Conflict"),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "conflict", "Conflict"),
    grpc.StatusCode.ABORTED: (409, "conflict", "Conflict"),
}


def problem_from_rpc_error(error: grpc.RpcError) -> Problem:
    code: grpc.StatusCode = error.code() if isinstance(error, grpc.Call) else None
    detail: str = (error.details() if isinstance(error, grpc.Call) else None) or ""
    if code in _CALLER_ERRORS:
        status, slug, title = _CALLER_ERRORS[code]
        return Problem(status, slug, title, detail or title)
    logger.warning(
        "upstream call failed",
        extra={"grpc_code": getattr(code, "name", None), "grpc_detail": detail},
    )
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED):
        return Problem(
            503,
            "upstream-unavailable",
            "Service unavailable",
            "A service this request needs is unavailable or overloaded; retry after the"
            " Retry-After delay.",
            headers={"Retry-After": _RETRY_AFTER_S},
        )
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return Problem(
            504,
            "upstream-timeout",
            "Upstream timeout",
            "A service this request needs did not answer in time; retry after the Retry-After"
            " delay.",
            headers={"Retry-After": _RETRY_AFTER_S},
        )
    return Problem(
        502,
        "upstream-failed",
        "Upstream failure",
        "A service this request needs failed; if this persists, report the trace_id.",
    )
