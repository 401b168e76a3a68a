"""The committed dashboards are what the code generates, and they are wired to the datasources."""

import json
from pathlib import Path
from typing import Any

import yaml

from observability.dashboards import OUTPUT_DIR, render
from tests.observability.promql import OBSERVABILITY

PROVISIONING = OBSERVABILITY / "grafana" / "provisioning"


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(OUTPUT_DIR.glob("*.json"))}


def datasources() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((PROVISIONING / "datasources" / "datasources.yaml").read_text())
    return {d["uid"]: d for d in config["datasources"]}


def test_committed_dashboards_are_what_the_generator_writes() -> None:
    rendered = render()
    committed = {p.name: p.read_text() for p in OUTPUT_DIR.glob("*.json")}
    stale = sorted(
        n for n in rendered.keys() | committed.keys() if rendered.get(n) != committed.get(n)
    )
    assert not stale, f"stale: {stale}; run `make dashboards` (python -m observability.dashboards)"


def test_every_dashboard_covers_its_subject() -> None:
    titles = {name: d["title"] for name, d in dashboards().items()}
    assert set(titles) == {
        "service-overview.json",
        "pipeline.json",
        "models.json",
        "sentiment.json",
    }
    assert all(t.startswith("CarePulse / ") for t in titles.values())


def test_every_query_uses_a_provisioned_datasource() -> None:
    uids = set(datasources())
    for name, dashboard in dashboards().items():
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                assert target["datasource"]["uid"] in uids, f"{name}: {panel['title']}"
                assert target["refId"], f"{name}: {panel['title']}"
        for annotation in dashboard["annotations"].get("list", []):
            assert annotation["datasource"]["uid"] in uids, f"{name}: {annotation['name']}"


def test_every_latency_panel_shows_exemplars_that_open_traces_in_zipkin() -> None:
    latency_panels = 0
    for name, dashboard in dashboards().items():
        for panel in dashboard["panels"]:
            exprs = [t["expr"] for t in panel.get("targets", [])]
            if any(e.startswith("histogram_quantile(0.5,") for e in exprs):
                latency_panels += 1
                assert any(t["exemplar"] for t in panel["targets"]), f"{name}: {panel['title']}"
    assert latency_panels >= 6
    prometheus = datasources()["prometheus"]
    destinations = prometheus["jsonData"]["exemplarTraceIdDestinations"]
    # The collector's spanmetrics and the OpenTelemetry exemplars name the label trace_id.
    assert destinations == [{"name": "trace_id", "datasourceUid": "zipkin"}]
    assert datasources()["zipkin"]["type"] == "zipkin"


def test_grafana_reads_the_dashboards_where_the_cluster_mounts_them() -> None:
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "carepulse.yaml").read_text())
    (provider,) = providers["providers"]
    grafana = Path(OBSERVABILITY.parent / "k8s" / "components" / "observability" / "grafana.yaml")
    deployment = next(yaml.safe_load_all(grafana.read_text()))
    mounts = {
        m["name"]: m["mountPath"]
        for m in deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    }
    assert mounts["dashboards"] == provider["options"]["path"]
    generated = yaml.safe_load((OBSERVABILITY / "kustomization.yaml").read_text())
    files = next(
        g["files"] for g in generated["configMapGenerator"] if g["name"] == "grafana-dashboards"
    )
    assert sorted(Path(f).name for f in files) == sorted(dashboards())
