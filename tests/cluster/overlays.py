"""The overlays under test, and what applying one left in its cluster."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.k8s.kubectl import Kubectl

REPO_ROOT = Path(__file__).resolve().parents[2]
OVERLAYS_DIR = Path(os.environ.get("CAREPULSE_K8S_OVERLAYS") or REPO_ROOT / "k8s" / "overlays")


def overlay_names() -> list[str]:
    return sorted(p.parent.name for p in OVERLAYS_DIR.glob("*/kustomization.yaml"))


@dataclass(frozen=True)
class DeployedOverlay:
    name: str
    kubectl: Kubectl
    namespace: str
    rendered: list[dict[str, Any]]  # what `kubectl kustomize` produced, applied as is
    not_rolled_out: dict[str, str]  # workloads still waiting when the rollout timed out

    def rendered_of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.rendered if obj["kind"] == kind]
