"""Who is calling: API key -> role check -> rate limit, as one FastAPI dependency per role."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from gateway.keyring import ApiKey, KeyRing, Role
from gateway.metrics import GatewayMetrics
from gateway.problems import Problem
from gateway.rate_limit import RateLimiter, retry_after_header

_HOW_TO_AUTHENTICATE = "Send your key in the X-API-Key header or as 'Authorization: Bearer <key>'."
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="carepulse"'}

# Both schemes show up in /docs' "Authorize" dialog; neither fails by itself, so a missing
# key gets this module's 401 problem rather than FastAPI's own error.
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False)


class Authenticator:
    def __init__(self, keyring: KeyRing, limiter: RateLimiter, metrics: GatewayMetrics) -> None:
        self._keyring = keyring
        self._limiter = limiter
        self._metrics = metrics

    def require(self, role: Role) -> Callable[..., Awaitable[ApiKey]]:
        """A dependency that yields the caller's key when it holds `role` and has tokens left."""

        async def authenticate(
            api_key: Annotated[str | None, Security(_api_key_header)],
            bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        ) -> ApiKey:
            presented = api_key or (bearer.credentials if bearer else None)
            if not presented:
                raise Problem(
                    401,
                    "unauthenticated",
                    "API key required",
                    _HOW_TO_AUTHENTICATE,
                    headers=_CHALLENGE,
                )
            key = self._keyring.find(presented)
            if key is None:
                raise Problem(
                    401,
                    "unauthenticated",
                    "Unknown API key",
                    "This API key is not configured on the gateway; check for typos or"
                    " ask for a new one.",
                    headers=_CHALLENGE,
                )
            if key.role is not role:
                raise Problem(
                    403,
                    "forbidden",
                    "Wrong role",
                    f"This endpoint needs a {role.value} key; yours is a {key.role.value} key.",
                )
            wait_s = self._limiter.take(key)
            if wait_s is not None:
                self._metrics.rate_limited.labels(key.role.value).inc()
                raise Problem(
                    429,
                    "rate-limited",
                    "Too many requests",
                    f"This key's {key.role.value} rate limit is used up; retry after the"
                    " Retry-After delay.",
                    headers={"Retry-After": retry_after_header(wait_s)},
                )
            return key

        return authenticate
