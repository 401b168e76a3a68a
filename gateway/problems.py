"""RFC 9457 problem details: the one shape every error response of the gateway has."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from pydantic import BaseModel
from starlette.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Problem types are names, not pages: nothing is served at these URIs.
_TYPE_PREFIX = "urn:carepulse:problem:"


class FieldError(BaseModel):
    field: str
    message: str


class ProblemDocument(BaseModel):
    """The body of every error response (for the OpenAPI schema)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = None
    trace_id: str | None = None  # quote it when reporting a problem


@dataclass
class Problem(Exception):
    """An error response; raise it from anywhere inside a request."""

    status: int
    slug: str  # names the problem type, e.g. "rate-limited"
    title: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    headers: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"

    def response(self, instance: str) -> JSONResponse:
        body: dict[str, Any] = {
            "type": _TYPE_PREFIX + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if self.errors:
            body["errors"] = [error.model_dump() for error in self.errors]
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            body["trace_id"] = format(span_context.trace_id, "032x")
        return JSONResponse(
            body, status_code=self.status, headers=dict(self.headers), media_type=PROBLEM_MEDIA_TYPE
        )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem+json bodies for these statuses."""
    return {status: {"model": ProblemDocument} for status in statuses}


_PROBLEM_SCHEMA = {"$ref": "#/components/schemas/ProblemDocument"}


def document_problem_media_type(openapi: dict[str, Any]) -> dict[str, Any]:
    """Move each ProblemDocument response of an OpenAPI schema from `application/json`, where
    FastAPI documents every response model, to `application/problem+json`, the media type
    the responses carry. Idempotent; changes and returns `openapi`."""
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if content.get("application/json", {}).get("schema") == _PROBLEM_SCHEMA:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    return openapi
