"""One fresh local control plane per overlay: secrets created, overlay applied, rolled out."""

import signal
from collections.abc import Iterator
from types import FrameType

import pytest
import yaml

from local.k8s.cluster import start_cluster
from local.k8s.controlplane import ControlPlane
from local.k8s.dev_secrets import ensure_dev_secrets
from local.k8s.tools import K8sTools
from tests.cluster.live import wait_for_rollouts
from tests.cluster.overlays import OVERLAYS_DIR, DeployedOverlay, overlay_names

NAMESPACE = "carepulse"
ROLLOUT_TIMEOUT_S = 120


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster: applies k8s/overlays to a local control plane with kwok nodes"
    )
    # A cancelled CI job sends SIGTERM: turn it into the Ctrl-C that runs fixture teardown,
    # so no etcd or apiserver outlives the session.
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@pytest.fixture(scope="session")
def tools() -> K8sTools:
    tools = K8sTools.from_env()
    missing = tools.missing()
    if missing:
        # A failure, not a skip: `make test` builds them, and a skipped check proves nothing.
        pytest.fail(f"run `make k8s-tools` first; missing: {[str(p) for p in missing]}")
    return tools


@pytest.fixture(scope="session", params=overlay_names())
def deployed(
    request: pytest.FixtureRequest, tools: K8sTools, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DeployedOverlay]:
    """Each overlay gets its own cluster (~7 s to start), so none sees another's leftovers."""
    name: str = request.param
    control_plane = start_cluster(tmp_path_factory.mktemp(f"k8s-{name}"), tools)
    try:
        kubectl = control_plane.kubectl()
        ensure_dev_secrets(kubectl, NAMESPACE, report=lambda _line: None)
        overlay = str(OVERLAYS_DIR / name)
        rendered = [doc for doc in yaml.safe_load_all(kubectl.run("kustomize", overlay)) if doc]
        # Server-side apply: the API server validates every field (strict) and every schema,
        # KEDA's included, and admission (pod security, quotas) runs as in a real cluster.
        kubectl.run("apply", "--server-side", "--field-manager=carepulse-k8s-test", "-k", overlay)
        waiting = wait_for_rollouts(kubectl, NAMESPACE, ROLLOUT_TIMEOUT_S)
        yield DeployedOverlay(name, kubectl, NAMESPACE, rendered, waiting)
    except Exception:
        _print_logs(control_plane)
        raise
    finally:
        control_plane.stop()


def _print_logs(control_plane: ControlPlane) -> None:
    for log in sorted(control_plane.log_dir.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-20:]
        print(f"--- {log.name} (last {len(lines)} lines)\n" + "\n".join(lines))
