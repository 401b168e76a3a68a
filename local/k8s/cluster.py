"""A ready cluster: the control plane, the fake node fleet and KEDA's CRDs."""

from pathlib import Path

from local.k8s.controlplane import ControlPlane, ControlPlanePorts
from local.k8s.kubectl import Kubectl
from local.k8s.nodes import DEFAULT_FLEET, FakeNode, create_nodes
from local.k8s.tools import K8sTools


def start_cluster(
    state_dir: Path,
    tools: K8sTools,
    ports: ControlPlanePorts | None = None,
    fleet: tuple[FakeNode, ...] = DEFAULT_FLEET,
) -> ControlPlane:
    """Start it all; on any failure nothing is left running."""
    control_plane = ControlPlane(state_dir, tools, ports)
    control_plane.start()
    try:
        kubectl = control_plane.kubectl()
        create_nodes(kubectl, fleet)
        install_keda_crds(kubectl, tools)
    except BaseException:
        control_plane.stop()
        raise
    return control_plane


def install_keda_crds(kubectl: Kubectl, tools: K8sTools) -> None:
    """KEDA's CRDs from its Go module, so ScaledObjects are validated by their real schema."""
    # Server-side: the CRDs exceed the size limit of client-side apply's annotation.
    kubectl.run("apply", "--server-side", "-f", str(tools.keda_crds))
    kubectl.run("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
