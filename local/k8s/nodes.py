"""The fake nodes kwok plays: a CPU pool over three zones and a tainted GPU pool."""

import time
from dataclasses import dataclass, field
from typing import Any

from local.k8s.kubectl import Kubectl

POOL_LABEL = "carepulse.dev/node-pool"
GPU_RESOURCE = "nvidia.com/gpu"
ZONE_LABEL = "topology.kubernetes.io/zone"
# kwok manages only nodes carrying this annotation (its --manage-nodes-with-annotation-selector).
KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")


@dataclass(frozen=True)
class FakeNode:
    name: str
    zone: str
    pool: str
    cpu: str = "8"
    memory: str = "32Gi"
    gpus: int = 0
    taints: tuple[dict[str, str], ...] = field(default=())

    def manifest(self) -> dict[str, Any]:
        resources = {"cpu": self.cpu, "memory": self.memory, "pods": "110"}
        if self.gpus:
            resources[GPU_RESOURCE] = str(self.gpus)
        key, value = KWOK_ANNOTATION
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "annotations": {key: value},
                "labels": {
                    "kubernetes.io/hostname": self.name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "topology.kubernetes.io/region": "local",
                    ZONE_LABEL: self.zone,
                    POOL_LABEL: self.pool,
                    "type": "kwok",
                },
            },
            "spec": {"taints": list(self.taints)},
            # The API server keeps a node's status on create; kwok's node stage builds on it.
            "status": {"capacity": resources, "allocatable": resources},
        }


# As GKE, EKS and AKS label and taint a GPU pool (the taint is GKE's automatic one).
GPU_TAINT = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}

# One GPU per node, as GKE's common L4/T4 shapes: production starts one classify replica
# there and KEDA may add two; a GPU pod beyond that stays Pending, as it would there.
DEFAULT_FLEET: tuple[FakeNode, ...] = (
    FakeNode("cpu-a", zone="zone-a", pool="cpu"),
    FakeNode("cpu-b", zone="zone-b", pool="cpu"),
    FakeNode("cpu-c", zone="zone-c", pool="cpu"),
    FakeNode("gpu-a", zone="zone-a", pool="gpu", gpus=1, taints=(GPU_TAINT,)),
    FakeNode("gpu-b", zone="zone-b", pool="gpu", gpus=1, taints=(GPU_TAINT,)),
    FakeNode("gpu-c", zone="zone-c", pool="gpu", gpus=1, taints=(GPU_TAINT,)),
)


def create_nodes(
    kubectl: Kubectl, fleet: tuple[FakeNode, ...] = DEFAULT_FLEET, timeout_s: float = 60
) -> None:
    """Create the nodes and wait until kwok reports every one Ready."""
    kubectl.create_objects([node.manifest() for node in fleet])
    deadline = time.monotonic() + timeout_s
    wanted = {node.name for node in fleet}
    while True:
        ready = {node["metadata"]["name"] for node in kubectl.items("nodes") if _is_ready(node)}
        if wanted <= ready:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nodes not Ready after {timeout_s:.0f} s: {sorted(wanted - ready)}")
        time.sleep(0.5)


def is_gpu_node(node: dict[str, Any]) -> bool:
    return bool(node["metadata"].get("labels", {}).get(POOL_LABEL) == "gpu")


def _is_ready(node: dict[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
