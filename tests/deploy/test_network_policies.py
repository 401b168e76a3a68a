"""Network policies allow exactly the documented edges (docs/deploy.md, "Network edges").

A connection needs the sender's egress and the receiver's ingress to allow it wherever each
side is isolated by a policy; the check compares every rule the rendered policies contain with
the halves the edge table implies, so a missing rule and an extra one both fail.
"""

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from tests.deploy.manifests import (
    GATEWAY_PORT,
    GRPC_PORTS,
    METRICS_PORTS,
    SERVICES,
    Manifest,
    Renders,
    of_kind,
    overlay_names,
    pod_templates,
    selector_matches,
)

EVERY_POD = "every pod"
ANYWHERE = "anywhere"


@dataclass(frozen=True)
class Edge:
    source: str
    destination: str
    port: int
    protocol: str = "TCP"


# The documented edges; sources and destinations are workloads of the namespace or the peers
# outside it named below.
EDGES = (
    Edge(EVERY_POD, "kube-dns", 53, "UDP"),
    Edge(EVERY_POD, "kube-dns", 53, "TCP"),
    Edge(ANYWHERE, "gateway", GATEWAY_PORT),
    *(Edge("gateway", service, port) for service, port in GRPC_PORTS.items()),
    Edge("recommend", "classify", GRPC_PORTS["classify"]),  # embeds the knowledge base
    *(Edge(s, "kafka", 9092) for s in ("ingest", "classify", "recommend", "alert", "kafka-topics")),
    *(Edge(s, "postgres", 5432) for s in ("alert", "recommend")),
    Edge("alert", "webhooks", 443),
    Edge("alert", "alertmanager", 9093),
    *(Edge("monitoring", service, port) for service, port in METRICS_PORTS.items()),
    # Observability (k8s/components/observability): traces, scrapes, dashboards.
    *(Edge(service, "otel-collector", 4317) for service in SERVICES),
    *(Edge("prometheus", service, port) for service, port in METRICS_PORTS.items()),
    Edge("prometheus", "gateway", GATEWAY_PORT),
    Edge("prometheus", "otel-collector", 8888),
    Edge("prometheus", "otel-collector", 8889),
    Edge("prometheus", "alertmanager", 9093),
    Edge("otel-collector", "zipkin", 9411),
    Edge("grafana", "prometheus", 9090),
    Edge("grafana", "zipkin", 9411),
)
# Peers outside the namespace: (namespace labels, pod labels or None for every pod there).
OUTSIDE_PEERS = {
    "kube-dns": ({"kubernetes.io/metadata.name": "kube-system"}, {"k8s-app": "kube-dns"}),
    "monitoring": ({"kubernetes.io/metadata.name": "monitoring"}, None),
    "alertmanager": (
        {"kubernetes.io/metadata.name": "monitoring"},
        {"app.kubernetes.io/name": "alertmanager"},
    ),
}
# Kafka and PostgreSQL may live outside the namespace (production: Strimzi or a managed service),
# and webhooks always do: senders allow these ports to any address. In dev, the broker's and the
# database's own policies admit only the documented clients.
ANY_ADDRESS_DESTINATIONS = {"kafka", "postgres", "webhooks"}


@dataclass(frozen=True)
class Rule:
    """One thing a policy allows: traffic between a pod and a peer on a port."""

    direction: str  # "ingress" (peer -> pod) or "egress" (pod -> peer)
    pod: str
    peer: str
    protocol: str
    port: int | str


@dataclass
class Policies:
    rules: set[Rule]
    isolated: dict[str, set[str]]  # direction -> workloads some policy isolates that way


def workload_labels(objects: list[Manifest]) -> dict[str, dict[str, str]]:
    return {t.name: t.labels for t in pod_templates(objects)}


def peer_names(peer: Manifest, workloads: dict[str, dict[str, str]]) -> list[str]:
    if "ipBlock" in peer:
        return [f"ipBlock {peer['ipBlock']}"]
    pods = peer.get("podSelector")
    if "namespaceSelector" not in peer:
        matched = [
            name for name, labels in workloads.items() if selector_matches(pods or {}, labels)
        ]
        return matched or [f"no pod matches {pods}"]
    namespace_labels = peer["namespaceSelector"].get("matchLabels")
    pod_labels = pods.get("matchLabels") if pods is not None else None
    for name, (ns, pod) in OUTSIDE_PEERS.items():
        if (ns, pod) == (namespace_labels, pod_labels) and len(peer["namespaceSelector"]) == 1:
            return [name]
    return [f"unknown peer {peer}"]


def allowed_rules(objects: list[Manifest]) -> Policies:
    """Every (direction, pod, peer, port) the rendered NetworkPolicies allow."""
    workloads = workload_labels(objects)
    policies = Policies(rules=set(), isolated={"ingress": set(), "egress": set()})
    for policy in of_kind(objects, "NetworkPolicy"):
        spec = policy["spec"]
        selected = [
            n for n, labels in workloads.items() if selector_matches(spec["podSelector"], labels)
        ]
        types = spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]
        for direction in (t.lower() for t in types):
            policies.isolated[direction].update(selected)
            peer_key = "from" if direction == "ingress" else "to"
            for rule in spec.get(direction, []):
                peers = [n for p in rule.get(peer_key, []) for n in peer_names(p, workloads)]
                ports = [(p.get("protocol", "TCP"), p["port"]) for p in rule.get("ports", [])]
                for pod in selected:
                    for peer in peers or [ANYWHERE]:
                        for protocol, port in ports or [("any protocol", "any port")]:
                            policies.rules.add(Rule(direction, pod, peer, protocol, port))
    return policies


def documented_rules(objects: list[Manifest], isolated: dict[str, set[str]]) -> set[Rule]:
    """The rules EDGES imply, given which workloads are rendered and isolated."""
    workloads = set(workload_labels(objects))
    rules = set()
    for edge in EDGES:
        sources = sorted(workloads) if edge.source == EVERY_POD else [edge.source]
        for source in sources:
            if source in isolated["egress"]:
                peer = (
                    ANYWHERE if edge.destination in ANY_ADDRESS_DESTINATIONS else edge.destination
                )
                rules.add(Rule("egress", source, peer, edge.protocol, edge.port))
            if edge.destination in isolated["ingress"]:
                rules.add(Rule("ingress", edge.destination, source, edge.protocol, edge.port))
    return rules


def differences(objects: list[Manifest]) -> tuple[set[Rule], set[Rule]]:
    """(rules the policies allow beyond the table, rules of the table they lack)."""
    policies = allowed_rules(objects)
    expected = documented_rules(objects, policies.isolated)
    return policies.rules - expected, expected - policies.rules


def describe(rules: set[Rule]) -> str:
    return "\n".join(
        f"  {r.direction} {r.pod} <-> {r.peer} {r.protocol}/{r.port}"
        for r in sorted(rules, key=str)
    )


@pytest.mark.parametrize("overlay", overlay_names())
def test_network_policies_allow_exactly_the_documented_edges(
    renders: Renders, overlay: str
) -> None:
    extra, missing = differences(renders.overlay(overlay))
    assert not extra and not missing, (
        f"{overlay}:\nallowed but not documented:\n{describe(extra)}\n"
        f"documented but not allowed:\n{describe(missing)}"
    )


def test_production_isolates_every_pod_in_both_directions(renders: Renders) -> None:
    objects = renders.overlay("production")
    isolated = allowed_rules(objects).isolated
    workloads = set(workload_labels(objects))
    assert isolated["ingress"] == workloads
    assert isolated["egress"] == workloads
    deny = [p for p in of_kind(objects, "NetworkPolicy") if p["metadata"]["name"] == "default-deny"]
    assert len(deny) == 1
    assert deny[0]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_dev_admits_only_the_documented_clients_to_kafka_and_postgres(renders: Renders) -> None:
    isolated = allowed_rules(renders.overlay("dev")).isolated
    assert isolated == {"ingress": {"kafka", "postgres"}, "egress": set()}


@pytest.mark.parametrize(
    "mutation",
    ["open classify to everyone", "drop the DNS policy", "gateway egress to any port"],
)
def test_the_check_catches_an_undocumented_or_missing_edge(renders: Renders, mutation: str) -> None:
    objects = copy.deepcopy(renders.overlay("production"))
    policies = {p["metadata"]["name"]: p for p in of_kind(objects, "NetworkPolicy")}
    spec: dict[str, Any]
    if mutation == "open classify to everyone":
        policies["classify"]["spec"]["ingress"].append({})
    elif mutation == "drop the DNS policy":
        objects.remove(policies["dns"])
    else:
        spec = policies["gateway"]["spec"]
        spec["egress"][0].pop("ports")
    extra, missing = differences(objects)
    assert extra or missing
