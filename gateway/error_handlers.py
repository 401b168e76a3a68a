"""Turns every exception that escapes a route into a problem+json response."""

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from gateway.models.limits import MAX_REPORTED_ERRORS
from gateway.problems import FieldError, Problem
from gateway.upstream_errors import problem_from_rpc_error

# Where FastAPI found the value; the caller knows the field without it.
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(grpc.RpcError, _upstream_error)
    app.add_exception_handler(Exception, _unexpected)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response(request.url.path)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors: Sequence[dict[str, Any]] = exc.errors()
    malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if malformed is not None:
        reason = malformed.get("ctx", {}).get("error", "JSON decode error")
        position = malformed["loc"][-1]
        problem = Problem(
            400,
            "malformed-json",
            "Malformed JSON",
            f"The request body is not valid JSON: {reason} at character {position}.",
        )
    else:
        # A bounded answer whatever the input: the first errors, and how many there were.
        shown = errors[:MAX_REPORTED_ERRORS]
        detail = "Some fields are missing or invalid; see `errors` for each one."
        if len(errors) > len(shown):
            detail = (
                f"{len(errors)} fields are missing or invalid; `errors` lists the first"
                f" {len(shown)}."
            )
        problem = Problem(
            422,
            "validation-failed",
            "Invalid request",
            detail,
            errors=[FieldError(field=_field_name(e["loc"]), message=_message(e)) for e in shown],
        )
    return problem.response(request.url.path)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors: unknown path (404), wrong method (405)."""
    assert isinstance(exc, HTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    problem = Problem(
        exc.status_code,
        phrase.lower().replace(" ", "-"),
        phrase,
        exc.detail if exc.detail != phrase else f"{request.method} {request.url.path}: {phrase}.",
        headers=exc.headers or {},
    )
    return problem.response(request.url.path)


async def _upstream_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, grpc.RpcError)
    return problem_from_rpc_error(exc).response(request.url.path)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Not logged here: Starlette re-raises it after this response, and uvicorn logs it.
    problem = Problem(
        500,
        "internal-error",
        "Internal error",
        "The gateway failed unexpectedly; if this persists, report the trace_id.",
    )
    return problem.response(request.url.path)


def _field_name(loc: Sequence[str | int]) -> str:
    """("body", "messages", 3, "text") -> "messages[3].text"."""
    parts = list(loc[1:] if loc and loc[0] in _LOCATIONS else loc)
    if not parts:
        return str(loc[0]) if loc else "body"
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "missing":
        return "required"
    if error.get("type") in {"model_attributes_type", "dict_type"} and len(error["loc"]) == 1:
        return "send a JSON object with Content-Type: application/json"
    return str(error.get("msg", "invalid"))
