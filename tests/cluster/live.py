"""Reading what the cluster did with an overlay: workloads, their pods and where they run."""

import time
from dataclasses import dataclass
from typing import Any

from local.k8s.kubectl import Kubectl
from local.k8s.nodes import KWOK_ANNOTATION, is_gpu_node

Object = dict[str, Any]


@dataclass(frozen=True)
class PodPlacement:
    pod: str
    workload: str  # the owning Deployment, StatefulSet or Job
    node: str | None
    phase: str
    on_gpu_node: bool
    on_fake_node: bool
    reason: str  # why it is not scheduled, if it is not


def placements(kubectl: Kubectl, namespace: str) -> list[PodPlacement]:
    nodes = {node["metadata"]["name"]: node for node in kubectl.items("nodes")}
    deployment_of = {
        rs["metadata"]["name"]: _owner(rs) or rs["metadata"]["name"]
        for rs in kubectl.items("replicasets", "--namespace", namespace)
    }
    result = []
    for pod in kubectl.items("pods", "--namespace", namespace):
        owner = _owner(pod) or pod["metadata"]["name"]
        node_name = pod["spec"].get("nodeName")
        node = nodes.get(node_name or "")
        key, value = KWOK_ANNOTATION
        result.append(
            PodPlacement(
                pod=pod["metadata"]["name"],
                workload=deployment_of.get(owner, owner),
                node=node_name,
                phase=pod.get("status", {}).get("phase", "Unknown"),
                on_gpu_node=node is not None and is_gpu_node(node),
                on_fake_node=node is not None
                and node["metadata"].get("annotations", {}).get(key) == value,
                reason=_unscheduled_reason(pod),
            )
        )
    return result


def not_rolled_out(kubectl: Kubectl, namespace: str) -> dict[str, str]:
    """Deployments, StatefulSets and Jobs not yet done, with what they are waiting for."""
    waiting = {}
    for workload in kubectl.items("deployments,statefulsets,jobs", "--namespace", namespace):
        name = f"{workload['kind']}/{workload['metadata']['name']}"
        problem = _rollout_problem(workload)
        if problem:
            waiting[name] = problem
    return waiting


def wait_for_rollouts(kubectl: Kubectl, namespace: str, timeout_s: float) -> dict[str, str]:
    """Poll until every workload is done; returns what is still waiting at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        waiting = not_rolled_out(kubectl, namespace)
        if not waiting or time.monotonic() > deadline:
            return waiting
        time.sleep(1)


def label_selector(selector: Object) -> str:
    """A LabelSelector object as `kubectl -l` syntax."""
    terms = [f"{key}={value}" for key, value in selector.get("matchLabels", {}).items()]
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = ",".join(expression.get("values", []))
        terms.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }[operator]
        )
    return ",".join(terms)


def settled_disruption_budgets(
    kubectl: Kubectl, namespace: str, timeout_s: float = 20
) -> list[Object]:
    """The budgets once the disruption controller has counted their pods."""
    deadline = time.monotonic() + timeout_s
    while True:
        budgets = kubectl.items("poddisruptionbudgets", "--namespace", namespace)
        settled = all(
            b.get("status", {}).get("observedGeneration") == b["metadata"]["generation"]
            for b in budgets
        )
        if settled or time.monotonic() > deadline:
            return budgets
        time.sleep(0.5)


def _rollout_problem(workload: Object) -> str:
    spec, status = workload.get("spec", {}), workload.get("status", {})
    if workload["kind"] == "Job":
        done = any(
            c["type"] == "Complete" and c["status"] == "True" for c in status.get("conditions", [])
        )
        return "" if done else f"not complete: {status}"
    if status.get("observedGeneration", 0) < workload["metadata"]["generation"]:
        return "controller has not seen the latest spec"
    wanted = spec.get("replicas", 1)
    counts = {
        "ready": status.get("readyReplicas", 0),
        "updated": status.get("updatedReplicas", 0),
    }
    if workload["kind"] == "Deployment":
        counts["available"] = status.get("availableReplicas", 0)
    short = {what: count for what, count in counts.items() if count < wanted}
    if not short:
        return ""
    # e.g. pods refused by Pod Security admission: the ReplicaSet reports it up here.
    failures = [
        c.get("message", "")
        for c in status.get("conditions", [])
        if c["type"] == "ReplicaFailure" and c["status"] == "True"
    ]
    return f"{wanted} wanted, only {short}" + "".join(f"; {m}" for m in failures)


def _owner(obj: Object) -> str | None:
    for reference in obj["metadata"].get("ownerReferences", []):
        if reference.get("controller"):
            return str(reference["name"])
    return None


def _unscheduled_reason(pod: Object) -> str:
    for condition in pod.get("status", {}).get("conditions", []):
        if condition["type"] == "PodScheduled" and condition["status"] != "True":
            return str(condition.get("message", condition.get("reason", "")))
    return ""
