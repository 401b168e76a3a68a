"""Every Service selects pods, and every one of its ports reaches a port those pods open."""

import pytest

from tests.deploy.manifests import (
    GATEWAY_PORT,
    GRPC_PORTS,
    METRICS_PORTS,
    PodTemplate,
    Renders,
    container_env,
    named,
    of_kind,
    overlay_names,
    pod_template,
    pod_templates,
    selector_matches,
)

OVERLAYS = overlay_names()


def container_ports(template: PodTemplate) -> set[str | int]:
    ports: set[str | int] = set()
    for container in template.containers:
        for port in container.get("ports", []):
            ports.add(port["containerPort"])
            ports.add(port.get("name", port["containerPort"]))
    return ports


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_port_targets_a_port_its_pods_open(renders: Renders, overlay: str) -> None:
    objects = renders.overlay(overlay)
    templates = [t for t in pod_templates(objects) if t.kind != "Job"]
    for service in of_kind(objects, "Service"):
        name = service["metadata"]["name"]
        selected = [
            t
            for t in templates
            if selector_matches({"matchLabels": service["spec"]["selector"]}, t.labels)
        ]
        assert selected, f"{overlay}: Service {name} selects no pods"
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            for template in selected:
                assert target in container_ports(template), (
                    f"{overlay}: Service {name} port {port['port']} -> {target}, "
                    f"which {template.name} does not open"
                )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_expose_the_documented_ports(renders: Renders, overlay: str) -> None:
    objects = renders.overlay(overlay)
    exposed = {
        s["metadata"]["name"]: {p["port"] for p in s["spec"]["ports"]}
        for s in of_kind(objects, "Service")
    }
    assert exposed["gateway"] == {GATEWAY_PORT}
    for service, port in GRPC_PORTS.items():
        assert exposed[service] == {port, METRICS_PORTS[service]}, service


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_statefulset_is_governed_by_a_headless_service(
    renders: Renders, overlay: str
) -> None:
    objects = renders.overlay(overlay)
    for statefulset in of_kind(objects, "StatefulSet"):
        service = named(objects, "Service", statefulset["spec"]["serviceName"])
        assert service["spec"].get("clusterIP") == "None", statefulset["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_balances_grpc_calls_over_every_pod_of_a_service(
    renders: Renders, overlay: str
) -> None:
    # A ClusterIP pins each long-lived gRPC connection to one pod; a headless Service resolves
    # to every ready pod, and the gateway's channels (round_robin) use them all.
    objects = renders.overlay(overlay)
    gateway = pod_template(objects, "gateway").containers[0]
    env = container_env(objects, gateway)
    for service, port in GRPC_PORTS.items():
        assert named(objects, "Service", service)["spec"].get("clusterIP") == "None", service
        assert env[f"GATEWAY_{service.upper()}_ADDR"] == f"dns:///{service}:{port}"
