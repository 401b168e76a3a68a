"""What each overlay promises: dev is small and self-contained; production scales, external."""

import pytest

from tests.deploy.manifests import (
    OBSERVABILITY,
    SERVICES,
    Manifest,
    PodTemplate,
    Renders,
    config_map_data,
    named,
    of_kind,
    pod_template,
    pod_templates,
)

DEV_OVERLAYS = ("dev", "gpu")
MODULES = {
    "gateway": "gateway",
    "ingest": "services.ingest",
    "classify": "services.classify",
    "recommend": "services.recommend",
    "alert": "services.alert",
}


def autoscaler_targets(objects: list[Manifest]) -> list[str]:
    return [
        h["spec"]["scaleTargetRef"]["name"] for h in of_kind(objects, "HorizontalPodAutoscaler")
    ]


@pytest.mark.parametrize("overlay", DEV_OVERLAYS)
def test_dev_runs_one_replica_of_everything_without_autoscaling(
    renders: Renders, overlay: str
) -> None:
    objects = renders.overlay(overlay)
    for template in pod_templates(objects):
        if template.kind != "Job":
            assert template.workload["spec"].get("replicas", 1) == 1, template.name
    assert not autoscaler_targets(objects)
    assert not of_kind(objects, "ScaledObject")


@pytest.mark.parametrize("overlay", DEV_OVERLAYS)
def test_dev_runs_kafka_and_postgres_in_the_namespace_with_replication_one(
    renders: Renders, overlay: str
) -> None:
    objects = renders.overlay(overlay)
    for name, port in (("kafka", 9092), ("postgres", 5432)):
        statefulset = named(objects, "StatefulSet", name)
        assert statefulset["spec"]["serviceName"] == name
        assert statefulset["spec"]["volumeClaimTemplates"], f"{name} keeps no data"
        assert port in [p["port"] for p in named(objects, "Service", name)["spec"]["ports"]]
    assert config_map_data(objects, "carepulse-kafka") == {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "KAFKA_REPLICATION_FACTOR": "1",
        "KAFKA_MIN_INSYNC_REPLICAS": "1",
    }


@pytest.mark.parametrize("overlay", DEV_OVERLAYS)
def test_dev_pods_run_a_synced_writable_copy_of_app_under_watchfiles(
    renders: Renders, overlay: str
) -> None:
    for service, module in MODULES.items():
        template = pod_template(renders.overlay(overlay), service)
        main = template.main_container()
        app_mounts = [m for m in main["volumeMounts"] if m["mountPath"] == "/app"]
        assert len(app_mounts) == 1, f"{service}: /app is not a volume"
        volume = app_mounts[0]["name"]
        assert "emptyDir" in template.volume(volume)
        copies = [
            c
            for c in template.init_containers
            if any(m["name"] == volume for m in c.get("volumeMounts", []))
        ]
        assert len(copies) == 1, f"{service}: nothing fills /app"
        # skaffold rewrites every use of the image, so the copy is always the running build.
        assert copies[0]["image"] == main["image"] == f"carepulse-{service}"
        target = next(m["mountPath"] for m in copies[0]["volumeMounts"] if m["name"] == volume)
        assert copies[0]["command"] == ["cp", "-R", "/app/.", f"{target}/"]
        assert main["command"][0] == "watchfiles"
        assert f"python -m {module}" in main["command"]
        assert "--filter=python" in main["command"]
        assert main["command"][-1] == "/app"


def test_gpu_overlay_is_dev_plus_the_gpu_pool(renders: Renders) -> None:
    """Everything but model serving is rendered exactly as in dev."""
    dev = {(o["kind"], o["metadata"]["name"]): o for o in renders.overlay("dev")}
    gpu = {(o["kind"], o["metadata"]["name"]): o for o in renders.overlay("gpu")}
    changed = {key for key in dev.keys() & gpu.keys() if dev[key] != gpu[key]}
    assert changed == {("Deployment", "classify")}
    # Only the classify ConfigMap's content, and so its hash-suffixed name, differ.
    only_dev, only_gpu = dev.keys() - gpu.keys(), gpu.keys() - dev.keys()
    assert [name.rsplit("-", 1)[0] for _, name in only_dev] == ["classify-config"]
    assert [name.rsplit("-", 1)[0] for _, name in only_gpu] == ["classify-config"]


def test_production_runs_no_kafka_or_database_in_the_namespace(renders: Renders) -> None:
    objects = renders.overlay("production")
    names = {t.name for t in pod_templates(objects)}
    assert names == {*SERVICES, "kafka-topics", *OBSERVABILITY}
    kafka = config_map_data(objects, "carepulse-kafka")
    assert kafka["KAFKA_BOOTSTRAP_SERVERS"] != "kafka:9092"
    assert (kafka["KAFKA_REPLICATION_FACTOR"], kafka["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")


def test_production_runs_more_than_one_replica_where_that_is_safe(renders: Renders) -> None:
    objects = renders.overlay("production")
    for service in ("ingest", "recommend"):
        assert pod_template(objects, service).workload["spec"]["replicas"] >= 2, service
    gateway = of_kind(objects, "HorizontalPodAutoscaler")
    assert [h["spec"]["scaleTargetRef"]["name"] for h in gateway] == ["gateway"]
    assert gateway[0]["spec"]["minReplicas"] >= 2
    assert "replicas" not in pod_template(objects, "gateway").workload["spec"]


def test_production_scales_classify_on_kafka_lag_with_keda_only(renders: Renders) -> None:
    objects = renders.overlay("production")
    scaled = of_kind(objects, "ScaledObject")
    assert len(scaled) == 1
    spec = scaled[0]["spec"]
    assert spec["scaleTargetRef"]["name"] == "classify"
    assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
    assert spec["minReplicaCount"] >= 1
    # messages.raw has 3 partitions: more consumers than that would idle.
    assert spec["minReplicaCount"] <= spec["maxReplicaCount"] <= 3
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["consumerGroup"] == "classify"
    assert trigger["metadata"]["topic"] == "messages.raw"
    # KEDA reads the address the classify pods use, so the two cannot drift apart.
    env_name = trigger["metadata"]["bootstrapServersFromEnv"]
    classify = PodTemplate(named(objects, "Deployment", "classify")).main_container()
    sources = [s["configMapRef"]["name"] for s in classify["envFrom"]]
    assert any(
        env_name in c.get("data", {})
        for c in of_kind(objects, "ConfigMap")
        if c["metadata"]["name"] in sources
    )
    # KEDA makes its own HorizontalPodAutoscaler; another one, or a fixed count, would fight it.
    assert "classify" not in autoscaler_targets(objects)
    assert "replicas" not in named(objects, "Deployment", "classify")["spec"]
