"""What the harness attacks: a stack it starts itself, or one already running."""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gateway.keyring import sha256_hex
from local.stack import StackPorts, running_stack

# High enough that schemathesis and the hostile requests are never rate limited; the
# limiter itself is proven by the gateway's tests.
_UNLIMITED = "100000"
# Operators beyond the plaintext one, configured by hash, so the streams attack can reach the
# instance-wide cap and not only the per-key one.
_EXTRA_OPERATORS = 3
_MAX_STREAMS_PER_KEY = 4
# Below the alert service's own bound (ALERT_MAX_STREAMS, 8), so that the gateway's
# instance-wide cap is the one reached.
_MAX_STREAMS = 6


@dataclass(frozen=True)
class Target:
    url: str
    client_key: str
    operator_key: str
    # Operator keys besides operator_key (own stack only): they share the instance's streams.
    extra_operator_keys: tuple[str, ...] = ()
    # Known only when the harness can see the processes (its own stack, or told by flags).
    gateway_pid: int | None = None
    log_dir: Path | None = None
    traces_dir: Path | None = None
    bootstrap_servers: str | None = None
    # The gateway's limits, as configured there (defaults: gateway/settings.py).
    max_body_bytes: int = 1024 * 1024
    body_timeout_s: float = 30.0
    max_streams_per_key: int = _MAX_STREAMS_PER_KEY
    max_streams: int = 100
    settings: dict[str, str] = field(default_factory=dict)
    # Other secrets the stack was given (the pseudonym key): no log line or span may hold them.
    other_secrets: tuple[str, ...] = ()

    def all_keys(self) -> list[str]:
        return [self.client_key, self.operator_key, *self.extra_operator_keys]


@contextmanager
def own_stack(work_dir: Path, port_offset: int) -> Iterator[Target]:
    """Start the whole stack on shifted ports, logs and traces under `work_dir`; stop it after."""
    client_key = f"abuse_client_{secrets.token_urlsafe(12)}"
    operator_key = f"abuse_operator_{secrets.token_urlsafe(12)}"
    extra = tuple(f"abuse_operator{i}_{secrets.token_urlsafe(12)}" for i in range(_EXTRA_OPERATORS))
    settings = {
        "GATEWAY_CLIENT_RATE_PER_S": _UNLIMITED,
        "GATEWAY_CLIENT_BURST": _UNLIMITED,
        "GATEWAY_OPERATOR_RATE_PER_S": _UNLIMITED,
        "GATEWAY_OPERATOR_BURST": _UNLIMITED,
        # A trickled body is cut after 5 s instead of 30.
        "GATEWAY_BODY_TIMEOUT_S": "5",
        "GATEWAY_MAX_ALERT_STREAMS": str(_MAX_STREAMS),
        "GATEWAY_MAX_ALERT_STREAMS_PER_KEY": str(_MAX_STREAMS_PER_KEY),
        # Short buckets, so a burst of complaints opens an alert within seconds.
        "ALERT_BUCKET_SECONDS": "2",
    }
    pseudonym_key = secrets.token_urlsafe(24)
    env = {
        **settings,
        "CAREPULSE_CLIENT_KEY": client_key,
        "CAREPULSE_OPERATOR_KEY": operator_key,
        # One key for every process, so that a customer's pseudonym is the same in each.
        "CAREPULSE_PSEUDONYM_KEY": pseudonym_key,
        "GATEWAY_API_KEY_HASHES": ",".join(
            f"operator:abuse-operator-{i}:{sha256_hex(key)}" for i, key in enumerate(extra)
        ),
    }
    with running_stack(work_dir, StackPorts.shifted(port_offset), env) as stack:
        gateway_pid = stack.processes["gateway"].pid
        yield Target(
            url=stack.gateway_url,
            client_key=client_key,
            operator_key=operator_key,
            extra_operator_keys=extra,
            gateway_pid=gateway_pid,
            log_dir=work_dir / "logs",
            traces_dir=work_dir / "traces",
            bootstrap_servers=stack.broker.bootstrap_servers,
            body_timeout_s=5.0,
            max_streams=_MAX_STREAMS,
            settings=settings,
            other_secrets=(pseudonym_key,),
        )


def attached(
    url: str,
    client_key: str | None,
    operator_key: str | None,
    gateway_pid: int | None,
    log_dir: Path | None,
    traces_dir: Path | None,
    bootstrap_servers: str | None,
) -> Target:
    """A running stack; keys default to CAREPULSE_CLIENT_KEY / CAREPULSE_OPERATOR_KEY."""
    client = client_key or os.environ.get("CAREPULSE_CLIENT_KEY")
    operator = operator_key or os.environ.get("CAREPULSE_OPERATOR_KEY")
    if not client or not operator:
        raise SystemExit("attaching needs both keys: --client-key/--operator-key or the env")
    return Target(
        url=url.rstrip("/"),
        client_key=client,
        operator_key=operator,
        gateway_pid=gateway_pid,
        log_dir=log_dir,
        traces_dir=traces_dir,
        bootstrap_servers=bootstrap_servers,
    )
