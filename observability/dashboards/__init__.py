"""Grafana dashboards as code (grafana-foundation-sdk): `python -m observability.dashboards`."""

import json
from collections.abc import Callable
from pathlib import Path
from string import ascii_uppercase

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard, prometheus

from observability.dashboards import models, pipeline, sentiment, service_overview

OUTPUT_DIR = Path(__file__).resolve().parent.parent / "grafana" / "dashboards"
DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "service-overview.json": service_overview.build,
    "pipeline.json": pipeline.build,
    "models.json": models.build,
    "sentiment.json": sentiment.build,
}


def render() -> dict[str, str]:
    """Each dashboard's file name and its JSON, as committed under grafana/dashboards/."""
    rendered = {}
    for name, build in DASHBOARDS.items():
        model = build().build()
        _number(model)
        rendered[name] = json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
    return rendered


def _number(model: dashboard.Dashboard) -> None:
    """Stable panel ids (1, 2, ...) and query refIds (A, B, ...), as Grafana expects."""
    for panel_id, panel in enumerate(model.panels or [], start=1):
        panel.id_val = panel_id
        if isinstance(panel, dashboard.Panel):
            for index, target in enumerate(panel.targets or []):
                if isinstance(target, prometheus.Dataquery):
                    target.ref_id = ascii_uppercase[index]
