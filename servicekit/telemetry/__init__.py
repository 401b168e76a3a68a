"""OpenTelemetry for a CarePulse process: traces, metrics and logs, configured by one call.

`setup_telemetry` describes the process (resource.py), chooses each signal's exporters from the
standard OTEL_* environment variables (exporters.py) and instruments the client libraries every
service shares (libraries.py). The FastAPI app and the gRPC servers and channels are
instrumented where they are built (gateway/app.py, servicekit/grpc).
"""

from servicekit.telemetry.providers import TelemetryHandle, setup_telemetry

__all__ = ["TelemetryHandle", "setup_telemetry"]
