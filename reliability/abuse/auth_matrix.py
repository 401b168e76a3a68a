"""Every route of the OpenAPI document, called with no key, unknown keys, malformed
credentials and each role's key: only the probes and docs answer without a key, and each
protected route admits exactly one role (the other gets 403)."""

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from reliability.abuse.target import Target

# Documented as public: liveness, readiness, metrics, and the API's own documentation.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
DOC_PATHS = ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")
# Paths no route serves: they must not answer 2xx, with or without a key.
UNROUTED_PATHS = ("/admin", "/debug", "/internal", "/v1", "/v1/alerts/x", "/v2/chat", "/.env")
_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # with path parameters filled in

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass
class AuthReport:
    probes: int = 0
    # Probes that got anything but the refusal they must get (401 without a valid key,
    # 403 for the other role, 404/405 where no route is): each is a violation.
    violations: list[str] = field(default_factory=list)
    role_of: dict[str, str] = field(default_factory=dict)
    public: list[str] = field(default_factory=list)
    # Keys the probes presented that the gateway does not know: none may be logged either.
    unknown_keys: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "probes": self.probes,
            "violations": self.violations[:20],
            "roles": self.role_of,
            "public": self.public,
        }


def operations(openapi: dict[str, Any]) -> list[Operation]:
    found = []
    for path, methods in openapi.get("paths", {}).items():
        concrete = path.replace("{alert_id}", "abuse-probe")
        for method in methods:
            if method in _METHODS:
                found.append(Operation(method, concrete))
    return found


def run_auth_matrix(target: Target) -> AuthReport:
    report = AuthReport()
    unknown = f"abuse_unknown_{secrets.token_urlsafe(12)}"
    report.unknown_keys.append(unknown)
    keys = {"client": target.client_key, "operator": target.operator_key}
    with httpx.Client(base_url=target.url, timeout=15) as http:
        openapi = http.get("/openapi.json").json()
        for operation in operations(openapi):
            if operation.path in PUBLIC_PATHS:
                status = _call(http, operation, {})
                report.probes += 1
                report.public.append(f"{operation} -> {status}")
                continue
            for name, headers in _without_a_valid_key(unknown, target.client_key):
                for body in _bodies(operation):
                    status = _call(http, operation, headers, body)
                    report.probes += 1
                    if status != 401:
                        report.violations.append(f"{operation} with {name}: {status}, not 401")
            admitted = []
            for role, key in keys.items():
                for scheme, headers in (
                    ("X-API-Key", {"X-API-Key": key}),
                    ("Bearer", {"Authorization": f"Bearer {key}"}),
                ):
                    status = _call(http, operation, headers)
                    report.probes += 1
                    if status == 401:
                        report.violations.append(f"{operation} with {role} {scheme}: 401")
                    elif status != 403 and role not in admitted:
                        admitted.append(role)
            if len(admitted) != 1:
                report.violations.append(f"{operation} admits {admitted or 'no role'}")
            else:
                report.role_of[str(operation)] = admitted[0]
        for path in DOC_PATHS:
            report.probes += 1
            report.public.append(f"GET {path} -> {http.get(path).status_code}")
        for path in UNROUTED_PATHS:
            for headers in ({}, {"X-API-Key": target.client_key}):
                status = http.get(path, headers=headers).status_code
                report.probes += 1
                if status < 400:
                    report.violations.append(f"GET {path} (unrouted): {status}")
    return report


def _without_a_valid_key(unknown: str, client_key: str) -> Iterator[tuple[str, dict[str, str]]]:
    yield "no key", {}
    yield "unknown X-API-Key", {"X-API-Key": unknown}
    yield "unknown Bearer", {"Authorization": f"Bearer {unknown}"}
    yield "empty X-API-Key", {"X-API-Key": ""}
    yield "empty Bearer", {"Authorization": "Bearer"}
    # A valid key, but not in a form the gateway documents.
    yield "Basic scheme", {"Authorization": f"Basic {client_key}"}
    yield "key in a cookie", {"Cookie": f"X-API-Key={client_key}"}
    yield "key with a suffix", {"X-API-Key": client_key + "x"}
    yield "key prefix", {"X-API-Key": client_key[:-1]}


_VALID_BODIES: dict[str, Any] = {
    "/v1/chat": {"conversation_id": "c", "customer_id": "u", "text": "hello"},
    "/v1/messages": {"messages": [{"conversation_id": "c", "customer_id": "u", "text": "hi"}]},
    "/v1/feedback": {"message_id": "m", "customer_id": "u", "article_id": "a", "helpful": True},
}


def _bodies(operation: Operation) -> list[Any]:
    """A body that would pass validation, and one that would not: 401 comes first either way."""
    if operation.method != "post":
        return [None]
    valid = _VALID_BODIES.get(operation.path, {"note": "probe"})
    return [valid, {"unexpected": ["field"] * 3}]


def _call(
    http: httpx.Client, operation: Operation, headers: dict[str, str], body: Any = None
) -> int:
    """The status only: a stream is closed as soon as its head has arrived."""
    with http.stream(
        operation.method.upper(),
        operation.path,
        headers=headers,
        json=body if operation.method == "post" else None,
    ) as response:
        return response.status_code
