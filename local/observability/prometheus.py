"""The local Prometheus configuration: the cluster's jobs, pointed at loopback ports."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.stack import GRPC_SERVICES, StackPorts

REPO_ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = REPO_ROOT / "observability" / "prometheus" / "rules"


def prometheus_config(
    stack: StackPorts,
    *,
    collector_metrics_port: int,
    collector_telemetry_port: int,
    prometheus_port: int,
    alertmanager_port: int | None,
    interval_s: float = 15,
) -> dict[str, Any]:
    """The same jobs and rule files as observability/prometheus/prometheus.yml."""
    targets: Mapping[str, int] = {
        "gateway": stack.gateway,
        **{name: stack.metrics(name) for name in GRPC_SERVICES},
        "spanmetrics": collector_metrics_port,
        "otel-collector": collector_telemetry_port,
        "prometheus": prometheus_port,
    }
    interval = f"{interval_s:g}s"
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": interval,
            "evaluation_interval": interval,
            "external_labels": {"namespace": "local"},
        },
        "rule_files": [str(RULES_DIR / "*.rules.yml")],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
            for job, port in targets.items()
        ],
    }
    if alertmanager_port is not None:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]
        }
    return config
