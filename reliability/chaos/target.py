"""The stack the faults land on: started by the harness on shifted ports, stopped after."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from local.postgres import PostgresServer, running_postgres
from local.stack import Stack, StackPorts, running_stack

SETTINGS = {
    # Far above the traffic's rate: the limiter is the gateway's tests' business.
    "GATEWAY_CLIENT_RATE_PER_S": "1000",
    "GATEWAY_CLIENT_BURST": "1000",
    # Short buckets, so a burst of complaints opens an alert within seconds.
    "ALERT_BUCKET_SECONDS": "2",
}


@dataclass(frozen=True)
class Target:
    stack: Stack
    client_key: str
    log_dir: Path
    postgres: PostgresServer  # alert's and recommend's database, so an outage can be injected


@contextmanager
def own_stack(work_dir: Path, port_offset: int) -> Iterator[Target]:
    """The whole stack on ports shifted by `port_offset`, its files under `work_dir`."""
    client_key = f"chaos_client_{secrets.token_urlsafe(12)}"
    env = {
        **SETTINGS,
        "CAREPULSE_CLIENT_KEY": client_key,
        "CAREPULSE_OPERATOR_KEY": f"chaos_operator_{secrets.token_urlsafe(12)}",
        "CAREPULSE_PSEUDONYM_KEY": secrets.token_urlsafe(24),
    }
    with running_postgres(work_dir / "postgres") as postgres:
        env["DATABASE_URL"] = postgres.create_database()
        with running_stack(work_dir, StackPorts.shifted(port_offset), env) as stack:
            yield Target(stack, client_key, work_dir / "logs", postgres)
