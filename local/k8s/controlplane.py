"""etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok as local processes."""

import contextlib
import os
import secrets
import signal
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from local.k8s.kubectl import Kubectl, KubectlError
from local.k8s.pki import ClusterPki, create_pki
from local.k8s.tools import K8sTools
from local.ports import port_free
from local.processes import ManagedProcess

# kwok plays kubelets only through these stages; without them it reports "no stages found".
# fast: nodes Ready and pods Running at once; leases keep the node controller from evicting.
KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
    "volume/fast/pvc-provision.yaml",
    "volume/fast/pv-bind.yaml",
    "volume/fast/pvc-delete.yaml",
    "volume/fast/pv-delete.yaml",
)
# The default StorageClass whose claims kwok's volume stages bind (StatefulSet volumes).
KWOK_STORAGE_CLASS = "volume/fast/storage-class.yaml"


@dataclass(frozen=True)
class ControlPlanePorts:
    """Away from `make run` (8080, 9092, 50051-4, 9101-5) and the integration tests (+1000)."""

    etcd_client: int = 23790
    etcd_peer: int = 23800
    apiserver: int = 16443


class ControlPlane:
    def __init__(
        self,
        state_dir: Path,
        tools: K8sTools,
        ports: ControlPlanePorts | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.tools = tools
        self.ports = ports or ControlPlanePorts()
        self.kubeconfig = state_dir / "kubeconfig"
        self.log_dir = state_dir / "logs"
        self._token = secrets.token_urlsafe(32)
        self._processes: list[ManagedProcess] = []

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports.apiserver}"

    def kubectl(self) -> Kubectl:
        return Kubectl(binary=self.tools.kubectl, kubeconfig=self.kubeconfig)

    def start(self, timeout_s: float = 60) -> None:
        """Start every component in order; ready once the default ServiceAccount exists."""
        missing = self.tools.missing()
        if missing:
            raise FileNotFoundError(f"run `make k8s-tools` first; missing: {missing}")
        busy = [port for port in (*vars(self.ports).values(),) if not port_free(port)]
        if busy:
            raise OSError(f"ports in use, is another local control plane running? {busy}")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        pki = create_pki(self.state_dir / "pki")
        self._write_access_files(pki)
        deadline = time.monotonic() + timeout_s
        try:
            self._spawn("etcd", self._etcd_args())
            self._wait(deadline, "etcd", self._etcd_healthy)
            self._spawn("kube-apiserver", self._apiserver_args(pki))
            self._wait(deadline, "kube-apiserver", lambda: self._apiserver_ready(pki))
            self._spawn("kube-controller-manager", self._controller_manager_args(pki))
            self._spawn("kube-scheduler", self._scheduler_args())
            self._spawn("kwok", self._kwok_args())
            kubectl = self.kubectl()
            # Pods are admitted only once the controller-manager made the namespace's
            # default ServiceAccount: the sign that the cluster is usable.
            self._wait(deadline, "default ServiceAccount", lambda: _exists(kubectl, "sa/default"))
            storage_class = self.tools.kwok_module / "kustomize/stage" / KWOK_STORAGE_CLASS
            kubectl.run("apply", "-f", str(storage_class))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop in reverse order; SIGKILL whatever ignores SIGTERM for a few seconds."""
        for process in reversed(self._processes):
            process.terminate(timeout_s=5)
            # Each runs in its own session: its group is gone once nothing in it is left.
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        self._processes.clear()

    def crashed(self) -> list[str]:
        return [process.name for process in self._processes if not process.running()]

    def __enter__(self) -> "ControlPlane":
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(self, name: str, args: list[str]) -> None:
        process = ManagedProcess(
            name,
            [str(self.tools.binary(name)), *args],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.state_dir)},
            cwd=self.state_dir,
            log_file=self.log_dir / f"{name}.log",
        )
        process.start()
        self._processes.append(process)

    def _wait(self, deadline: float, what: str, check: Callable[[], bool]) -> None:
        while not check():
            if crashed := self.crashed():
                raise RuntimeError(f"{', '.join(crashed)} exited; see {self.log_dir}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not ready; see {self.log_dir}")
            time.sleep(0.2)

    def _write_access_files(self, pki: ClusterPki) -> None:
        # One static token in system:masters: the admin for kubectl and every component.
        tokens = self.state_dir / "tokens.csv"
        tokens.write_text(f'{self._token},carepulse-admin,carepulse-admin,"system:masters"\n')
        tokens.chmod(0o600)
        self.kubeconfig.write_text(
            "apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            "- name: carepulse-local\n"
            "  cluster:\n"
            f"    server: {self.server}\n"
            f"    certificate-authority: {pki.ca_cert}\n"
            "users:\n"
            "- name: carepulse-admin\n"
            "  user:\n"
            f"    token: {self._token}\n"
            "contexts:\n"
            "- name: carepulse-local\n"
            "  context: {cluster: carepulse-local, user: carepulse-admin}\n"
            "current-context: carepulse-local\n"
        )
        self.kubeconfig.chmod(0o600)

    def _etcd_args(self) -> list[str]:
        client = f"http://127.0.0.1:{self.ports.etcd_client}"
        peer = f"http://127.0.0.1:{self.ports.etcd_peer}"
        return [
            "--name=carepulse",
            f"--data-dir={self.state_dir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=carepulse={peer}",
            "--unsafe-no-fsync",  # a throw-away cluster: speed over durability
            "--log-level=warn",
        ]

    def _apiserver_args(self, pki: ClusterPki) -> list[str]:
        return [
            f"--etcd-servers=http://127.0.0.1:{self.ports.etcd_client}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports.apiserver}",
            f"--cert-dir={self.state_dir / 'pki'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--requestheader-client-ca-file={pki.ca_cert}",
            f"--token-auth-file={self.state_dir / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            f"--service-account-key-file={pki.service_account_public_key}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            # Written into Services only: no proxy routes them here.
            "--service-cluster-ip-range=10.96.0.0/16",
            # No kubelet, so the `kubernetes` Service's endpoints are not kept.
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        ]

    def _controller_manager_args(self, pki: ClusterPki) -> list[str]:
        return [
            f"--kubeconfig={self.kubeconfig}",
            "--leader-elect=false",
            "--secure-port=0",
            f"--service-account-private-key-file={pki.service_account_key}",
            f"--root-ca-file={pki.ca_cert}",
            "--profiling=false",
        ]

    def _scheduler_args(self) -> list[str]:
        return [
            f"--kubeconfig={self.kubeconfig}",
            "--leader-elect=false",
            "--secure-port=0",
            "--profiling=false",
        ]

    def _kwok_args(self) -> list[str]:
        stages = self.tools.kwok_module / "kustomize" / "stage"
        return [
            f"--kubeconfig={self.kubeconfig}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--node-lease-duration-seconds=40",
            "--cidr=10.244.0.0/16",
            *(f"--config={stages / stage}" for stage in KWOK_STAGES),
        ]

    def _etcd_healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.ports.etcd_client}/health"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return b'"health":"true"' in response.read()
        except (urllib.error.URLError, OSError):
            return False

    def _apiserver_ready(self, pki: ClusterPki) -> bool:
        request = urllib.request.Request(
            f"{self.server}/readyz", headers={"Authorization": f"Bearer {self._token}"}
        )
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        try:
            with urllib.request.urlopen(request, timeout=1, context=context) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False


def _exists(kubectl: Kubectl, name: str) -> bool:
    try:
        kubectl.run("get", name, "-o", "name")
    except KubectlError:
        return False
    return True
