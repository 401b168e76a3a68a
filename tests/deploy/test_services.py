"""Every Service selects pods, and every one of its ports reaches a port those pods open."""

import pytest

from tests.deploy.manifests import (
    GATEWAY_PORT,
    GRPC_PORTS,
    METRICS_PORTS,
    PodTemplate,
    Renders,
    named,
    of_kind,
    overlay_names,
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
