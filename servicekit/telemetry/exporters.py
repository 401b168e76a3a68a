"""Which signals leave the process over OTLP, from the standard OTEL_* environment variables.

OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER each take `otlp` or `none`.
Unset, traces and metrics go out when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT
or the signal's own, e.g. OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), so that a process without a
collector does not retry one on localhost forever. Logs go out only when OTEL_LOGS_EXPORTER=otlp:
JSON on stdout is every service's log, always on.
"""

import os
from typing import Literal

Signal = Literal["traces", "metrics", "logs"]

_SUPPORTED = frozenset({"otlp", "none"})


def exports_otlp(signal: Signal) -> bool:
    """True when `signal` is to be exported over OTLP; a value not supported stops the process."""
    variable = f"OTEL_{signal.upper()}_EXPORTER"
    chosen = {name.strip() for name in os.environ.get(variable, "").split(",")} - {""}
    if not chosen:
        return signal != "logs" and _endpoint_configured(signal)
    if chosen - _SUPPORTED:
        raise ValueError(f"{variable}={os.environ[variable]!r}: supported are otlp and none")
    return "otlp" in chosen


def _endpoint_configured(signal: Signal) -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
    )
