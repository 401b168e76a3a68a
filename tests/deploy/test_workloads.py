"""Rules every rendered workload meets: probes, resources, hardening, secrets by reference."""

import pytest

from tests.deploy.manifests import (
    GATEWAY_PORT,
    GRPC_PORTS,
    SERVICES,
    Manifest,
    PodTemplate,
    Renders,
    of_kind,
    overlay_names,
    pod_template,
    pod_templates,
    quantity,
)

OVERLAYS = overlay_names()
# Every secret is created outside the repository (docs/deploy.md); these are the names and keys.
SECRET_KEYS = {
    ("carepulse-api-keys", "GATEWAY_API_KEY_HASHES"),
    ("carepulse-database", "DATABASE_URL"),
    ("carepulse-alert-webhook", "ALERT_WEBHOOK_SECRET"),
    ("carepulse-telemetry", "CAREPULSE_PSEUDONYM_KEY"),
    ("carepulse-postgres", "POSTGRES_PASSWORD"),
}
APP_USER = 10001
# classify loads TensorFlow and its model and warms up before it says SERVING.
CLASSIFY_MIN_STARTUP_S = 300


def templates(renders: Renders, overlay: str) -> list[PodTemplate]:
    found = pod_templates(renders.overlay(overlay))
    assert found, f"{overlay} renders no workloads"
    return found


def long_running(renders: Renders, overlay: str) -> list[PodTemplate]:
    return [t for t in templates(renders, overlay) if t.kind != "Job"]


def port_numbers(container: Manifest) -> dict[str | int, int]:
    """A container's ports by name and by number, as probes and Services may refer to them."""
    ports: dict[str | int, int] = {}
    for port in container.get("ports", []):
        ports[port["containerPort"]] = port["containerPort"]
        if "name" in port:
            ports[port["name"]] = port["containerPort"]
    return ports


def probe_port(probe: Manifest) -> str | int | None:
    """The port a network probe checks; None for an exec probe."""
    for handler in ("grpc", "httpGet", "tcpSocket"):
        if handler in probe:
            port: str | int = probe[handler]["port"]
            return port
    assert "exec" in probe, f"probe without a handler: {probe}"
    return None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_long_running_container_has_liveness_and_readiness_probes_on_its_ports(
    renders: Renders, overlay: str
) -> None:
    for template in long_running(renders, overlay):
        for container in template.containers:
            where = f"{overlay}: {template.name}/{container['name']}"
            ports = port_numbers(container)
            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                if kind == "startupProbe" and kind not in container:
                    continue
                assert kind in container, f"{where}: no {kind}"
                port = probe_port(container[kind])
                assert port is None or port in ports, f"{where}: {kind} on port {port}, not open"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grpc_services_gate_startup_and_readiness_on_grpc_health(
    renders: Renders, overlay: str
) -> None:
    for service, port in GRPC_PORTS.items():
        container = pod_template(renders.overlay(overlay), service).main_container()
        for kind in ("startupProbe", "readinessProbe"):
            assert container[kind].get("grpc", {}).get("port") == port, f"{service}: {kind}"


def _startup_budget_s(objects: list[Manifest], service: str) -> int:
    probe = pod_template(objects, service).main_container()["startupProbe"]
    budget: int = probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)
    return budget


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_classify_startup_probe_outwaits_its_model_load(renders: Renders, overlay: str) -> None:
    assert _startup_budget_s(renders.overlay(overlay), "classify") >= CLASSIFY_MIN_STARTUP_S


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_recommend_startup_probe_outwaits_classify_which_embeds_its_knowledge_base(
    renders: Renders, overlay: str
) -> None:
    objects = renders.overlay(overlay)
    assert _startup_budget_s(objects, "recommend") > _startup_budget_s(objects, "classify")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_probes_healthz_for_liveness_and_readyz_for_readiness(
    renders: Renders, overlay: str
) -> None:
    container = pod_template(renders.overlay(overlay), "gateway").main_container()
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert port_numbers(container)[container["readinessProbe"]["httpGet"]["port"]] == GATEWAY_PORT


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_requests_and_limits_cpu_and_memory(renders: Renders, overlay: str) -> None:
    for template in templates(renders, overlay):
        for container in template.all_containers():
            where = f"{overlay}: {template.name}/{container['name']}"
            resources = container.get("resources", {})
            for resource in ("cpu", "memory"):
                request = resources.get("requests", {}).get(resource)
                limit = resources.get("limits", {}).get(resource)
                assert request is not None and limit is not None, f"{where}: {resource}"
                assert quantity(request) <= quantity(limit), f"{where}: {resource}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_classify_gets_the_memory_its_forward_path_needs(renders: Renders, overlay: str) -> None:
    """On CPUs classify serves the int8 model without TensorFlow (~250 MB), but a missing model
    is built in a TensorFlow subprocess that peaks near 1.5 GB: that must fit the limit. On the
    GPU pool (the gpu component) TensorFlow serves the float path."""
    container = pod_template(renders.overlay(overlay), "classify").main_container()
    resources = container["resources"]
    assert quantity(resources["limits"]["memory"]) >= quantity("2Gi")
    on_gpu = "nvidia.com/gpu" in resources["limits"]
    floor = "2Gi" if on_gpu else "384Mi"
    assert quantity(resources["requests"]["memory"]) >= quantity(floor)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_non_root_read_only_and_drops_all_capabilities(
    renders: Renders, overlay: str
) -> None:
    for template in templates(renders, overlay):
        pod = template.spec.get("securityContext", {})
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", template.name
        for container in template.all_containers():
            where = f"{overlay}: {template.name}/{container['name']}"
            context = container.get("securityContext", {})
            assert context.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, where
            assert context.get("runAsUser", pod.get("runAsUser", 0)) != 0, where
            assert context.get("allowPrivilegeEscalation") is False, where
            assert context.get("readOnlyRootFilesystem") is True, where
            assert "ALL" in context.get("capabilities", {}).get("drop", []), where
            assert not context.get("capabilities", {}).get("add"), where
            assert not context.get("privileged", False), where
            if container["image"].startswith("carepulse-"):
                assert context.get("runAsUser", pod.get("runAsUser")) == APP_USER, where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_carepulse_containers_write_only_to_an_emptydir_tmp(renders: Renders, overlay: str) -> None:
    for template in templates(renders, overlay):
        for container in template.containers:
            if not container["image"].startswith("carepulse-"):
                continue
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{overlay}: {template.name} has no writable /tmp"
            assert "emptyDir" in template.volume(mounts["/tmp"]), template.name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_pod_mounts_a_service_account_token(renders: Renders, overlay: str) -> None:
    accounts = {
        a["metadata"]["name"]: a for a in of_kind(renders.overlay(overlay), "ServiceAccount")
    }
    for template in templates(renders, overlay):
        assert template.spec.get("automountServiceAccountToken") is False, template.name
        name = template.spec.get("serviceAccountName")
        if name is not None:
            assert name in accounts, f"{template.name}: ServiceAccount {name} is not rendered"
            assert accounts[name].get("automountServiceAccountToken") is False, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_only_referenced_by_their_documented_names_and_keys(
    renders: Renders, overlay: str
) -> None:
    for template in templates(renders, overlay):
        for container in template.all_containers():
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    assert (ref["name"], ref["key"]) in SECRET_KEYS, f"{template.name}: {ref}"
            assert not any("secretRef" in s for s in container.get("envFrom", [])), template.name
        assert not any("secret" in v for v in template.spec.get("volumes", [])), template.name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_reads_its_api_key_hashes_from_the_secret(renders: Renders, overlay: str) -> None:
    container = pod_template(renders.overlay(overlay), "gateway").main_container()
    env = {v["name"]: v for v in container.get("env", [])}
    ref = env["GATEWAY_API_KEY_HASHES"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == ("carepulse-api-keys", "GATEWAY_API_KEY_HASHES")
    assert not ref.get("optional", False)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_referenced_config_map_is_rendered(renders: Renders, overlay: str) -> None:
    objects = renders.overlay(overlay)
    config_maps = {c["metadata"]["name"] for c in of_kind(objects, "ConfigMap")}
    for template in templates(renders, overlay):
        referenced = {
            v["configMap"]["name"] for v in template.spec.get("volumes", []) if "configMap" in v
        }
        for container in template.all_containers():
            referenced |= {
                s["configMapRef"]["name"]
                for s in container.get("envFrom", [])
                if "configMapRef" in s
            }
            referenced |= {
                v["valueFrom"]["configMapKeyRef"]["name"]
                for v in container.get("env", [])
                if "configMapKeyRef" in v.get("valueFrom", {})
            }
        assert referenced <= config_maps, f"{template.name}: {sorted(referenced - config_maps)}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_pod_disruption_budget_that_never_blocks_a_drain(
    renders: Renders, overlay: str
) -> None:
    objects = renders.overlay(overlay)
    budgets = of_kind(objects, "PodDisruptionBudget")
    for deployment in of_kind(objects, "Deployment"):
        template = PodTemplate(deployment)
        matching = [
            b
            for b in budgets
            if all(
                template.labels.get(k) == v for k, v in b["spec"]["selector"]["matchLabels"].items()
            )
        ]
        assert len(matching) == 1, f"{overlay}: {template.name} has {len(matching)} PDBs"
        assert matching[0]["spec"].get("maxUnavailable") == 1, template.name
        assert "minAvailable" not in matching[0]["spec"], template.name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workloads_spread_over_zones_and_nodes_without_blocking_scheduling(
    renders: Renders, overlay: str
) -> None:
    for service in SERVICES:
        template = pod_template(renders.overlay(overlay), service)
        constraints = template.spec.get("topologySpreadConstraints", [])
        keys = {c["topologyKey"] for c in constraints}
        assert {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} <= keys, service
        for constraint in constraints:
            assert constraint["whenUnsatisfiable"] == "ScheduleAnyway", service
            assert constraint["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": service}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_alert_runs_one_replica_and_never_two_during_a_rollout(
    renders: Renders, overlay: str
) -> None:
    deployment = pod_template(renders.overlay(overlay), "alert").workload
    assert deployment["spec"].get("replicas", 1) == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_topics_job_creates_topics_with_the_ingest_image(
    renders: Renders, overlay: str
) -> None:
    template = pod_template(renders.overlay(overlay), "kafka-topics")
    job = template.workload
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    assert job["spec"]["backoffLimit"] > 0
    container = template.main_container()
    assert container["image"] == "carepulse-ingest"
    assert container["command"] == ["python", "-m", "servicekit.kafka.create_topics"]
    sources = [s["configMapRef"]["name"] for s in container["envFrom"]]
    assert [s.rsplit("-", 1)[0] for s in sources] == ["carepulse-kafka"]
