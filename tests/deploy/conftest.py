"""Offline checks of k8s/ and skaffold.yaml: the tools they need, and each overlay rendered once."""

import os
from pathlib import Path

import pytest

from servicekit.cache import user_cache_dir
from tests.deploy.manifests import Renders

KUBERNETES_VERSION = "v1.34.4"
KEDA_VERSION = "v2.21.1"


def default_kubectl() -> Path:
    return user_cache_dir() / "k8s" / KUBERNETES_VERSION / "bin" / "kubectl"


def keda_crd_dir() -> Path:
    module = user_cache_dir() / "go" / "mod" / "github.com" / "kedacore" / f"keda/v2@{KEDA_VERSION}"
    return module / "config" / "crd" / "bases"


@pytest.fixture(scope="session")
def kubectl() -> Path:
    """The pinned kubectl (its kustomize renders); CAREPULSE_KUBECTL points elsewhere."""
    path = Path(os.environ.get("CAREPULSE_KUBECTL") or default_kubectl())
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"kubectl not found at {path}: `make k8s-tools` builds kubectl {KUBERNETES_VERSION}"
            " there (or set CAREPULSE_KUBECTL to another kubectl)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def renders(kubectl: Path) -> Renders:
    return Renders(kubectl)


@pytest.fixture(scope="session")
def scaledobject_crd_file() -> Path:
    path = keda_crd_dir() / "keda.sh_scaledobjects.yaml"
    if not path.is_file():
        pytest.fail(
            f"KEDA's ScaledObject CRD not found at {path}: `make k8s-tools` downloads KEDA"
            f" {KEDA_VERSION}'s Go module, which carries it",
            pytrace=False,
        )
    return path
