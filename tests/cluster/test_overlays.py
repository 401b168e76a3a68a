"""Every overlay, applied to a real API server with kwok nodes, runs where it must."""

from collections import defaultdict

import pytest

from tests.cluster.live import label_selector, placements, settled_disruption_budgets
from tests.cluster.overlays import DeployedOverlay, overlay_names

pytestmark = pytest.mark.cluster

# The model-serving services and nothing else belong on the GPU pool.
GPU_WORKLOADS = {
    "dev": set(),
    "gpu": {"classify"},
    "production": {"classify"},
}


def test_dev_gpu_and_production_overlays_exist() -> None:
    assert set(GPU_WORKLOADS) <= set(overlay_names())


def test_every_rendered_object_is_admitted_by_the_api_server(deployed: DeployedOverlay) -> None:
    live = {
        (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        for obj in deployed.kubectl.live_objects(deployed.rendered)
    }
    rendered = {
        (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        for obj in deployed.rendered
    }
    assert rendered
    assert rendered == live


def test_every_workload_rolls_out_on_fake_nodes(deployed: DeployedOverlay) -> None:
    assert deployed.not_rolled_out == {}
    pods = placements(deployed.kubectl, deployed.namespace)
    assert pods
    assert [p.pod for p in pods if not p.on_fake_node] == []


def test_no_pod_is_pending(deployed: DeployedOverlay) -> None:
    stuck = {
        p.pod: f"{p.phase}: {p.reason}"
        for p in placements(deployed.kubectl, deployed.namespace)
        if p.phase not in {"Running", "Succeeded"}
    }
    assert stuck == {}


def test_model_serving_pods_and_only_they_run_on_gpu_nodes(deployed: DeployedOverlay) -> None:
    if deployed.name not in GPU_WORKLOADS:
        pytest.fail(f"overlay {deployed.name!r}: add its GPU workloads to GPU_WORKLOADS")
    nodes_by_workload: dict[str, set[bool]] = defaultdict(set)
    for pod in placements(deployed.kubectl, deployed.namespace):
        nodes_by_workload[pod.workload].add(pod.on_gpu_node)
    on_gpu = {workload for workload, gpu in nodes_by_workload.items() if True in gpu}
    off_gpu = {workload for workload, gpu in nodes_by_workload.items() if False in gpu}
    expected = GPU_WORKLOADS[deployed.name]
    assert on_gpu == expected
    assert off_gpu.isdisjoint(expected), "a model-serving pod runs off the GPU pool"


def test_every_service_port_has_ready_endpoints(deployed: DeployedOverlay) -> None:
    """A port whose targetPort names no container port gets no endpoints: a dead Service."""
    ready: dict[tuple[str, str], int] = {
        (svc["metadata"]["name"], port.get("name", "")): 0
        for svc in deployed.kubectl.items("services", "--namespace", deployed.namespace)
        if svc["spec"].get("selector")
        for port in svc["spec"]["ports"]
    }
    for endpoint_slice in deployed.kubectl.items(
        "endpointslices", "--namespace", deployed.namespace
    ):
        service = endpoint_slice["metadata"].get("labels", {}).get("kubernetes.io/service-name")
        addresses = sum(
            len(endpoint["addresses"])
            for endpoint in endpoint_slice.get("endpoints") or []
            if endpoint.get("conditions", {}).get("ready")
        )
        for port in endpoint_slice.get("ports") or []:
            key = (service, port.get("name", ""))
            if key in ready:
                ready[key] += addresses
    assert ready
    assert [f"{service}:{port}" for (service, port), n in ready.items() if n == 0] == []


def test_every_pod_disruption_budget_covers_running_pods(deployed: DeployedOverlay) -> None:
    budgets = settled_disruption_budgets(deployed.kubectl, deployed.namespace)
    assert len(budgets) == len(deployed.rendered_of_kind("PodDisruptionBudget"))
    if deployed.name == "production":
        assert budgets, "production runs without PodDisruptionBudgets"
    # The disruption controller counts the pods a budget selects: none means a wrong selector.
    empty = [b["metadata"]["name"] for b in budgets if not b.get("status", {}).get("expectedPods")]
    assert empty == []


def test_every_autoscaler_targets_an_existing_deployment(deployed: DeployedOverlay) -> None:
    autoscalers = deployed.kubectl.items(
        "horizontalpodautoscalers", "--namespace", deployed.namespace
    )
    deployments = {
        d["metadata"]["name"]
        for d in deployed.kubectl.items("deployments", "--namespace", deployed.namespace)
    }
    targets = {a["spec"]["scaleTargetRef"]["name"] for a in autoscalers}
    if deployed.name == "production":
        assert "gateway" in targets
    assert targets <= deployments


def test_every_network_policy_and_peer_selects_running_pods(deployed: DeployedOverlay) -> None:
    """A selector that matches no pod allows or isolates nothing: a typo in an edge."""
    policies = deployed.kubectl.items("networkpolicies", "--namespace", deployed.namespace)
    if deployed.name == "production":
        assert any(p["spec"]["podSelector"] == {} for p in policies), "no default deny"
    selectors = [label_selector(p["spec"]["podSelector"]) for p in policies]
    # Peers in this namespace (no namespaceSelector): the documented edges between our pods.
    selectors += [
        label_selector(peer["podSelector"])
        for p in policies
        for rule in [*p["spec"].get("ingress", []), *p["spec"].get("egress", [])]
        for peer in [*rule.get("from", []), *rule.get("to", [])]
        if "podSelector" in peer and "namespaceSelector" not in peer
    ]
    unmatched = [
        selector
        for selector in selectors
        if selector  # an empty selector is every pod: the default deny
        and not deployed.kubectl.items("pods", "--namespace", deployed.namespace, "-l", selector)
    ]
    assert unmatched == []


@pytest.mark.parametrize("deployed", ["production"], indirect=True)
def test_production_scales_classify_on_kafka_lag_with_keda(deployed: DeployedOverlay) -> None:
    scaled = deployed.kubectl.items("scaledobjects.keda.sh", "--namespace", deployed.namespace)
    assert [s["spec"]["scaleTargetRef"]["name"] for s in scaled] == ["classify"]
    assert [t["type"] for t in scaled[0]["spec"]["triggers"]] == ["kafka"]
    deployed.kubectl.run("get", "deployment", "classify", "--namespace", deployed.namespace)
