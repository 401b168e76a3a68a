"""Where `make k8s-tools` puts the binaries, and what the Go module cache holds for us."""

import os
from dataclasses import dataclass
from pathlib import Path

KUBERNETES_VERSION = "v1.34.4"
KWOK_VERSION = "v0.8.0"
KEDA_VERSION = "v2.21.1"

_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


def _cache_dir() -> Path:
    # The same rule as the Makefile's CACHE_DIR.
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "carepulse"


@dataclass(frozen=True)
class K8sTools:
    bin_dir: Path
    kubectl: Path
    module_cache: Path

    @classmethod
    def from_env(cls) -> "K8sTools":
        """`CAREPULSE_K8S_BIN`, `CAREPULSE_KUBECTL`, `CAREPULSE_GOMODCACHE` override the cache."""
        cache = _cache_dir()
        bin_dir = Path(
            os.environ.get("CAREPULSE_K8S_BIN") or cache / "k8s" / KUBERNETES_VERSION / "bin"
        )
        return cls(
            bin_dir=bin_dir,
            kubectl=Path(os.environ.get("CAREPULSE_KUBECTL") or bin_dir / "kubectl"),
            module_cache=Path(os.environ.get("CAREPULSE_GOMODCACHE") or cache / "go" / "mod"),
        )

    def binary(self, name: str) -> Path:
        return self.bin_dir / name

    @property
    def kwok_module(self) -> Path:
        return self.module_cache / "sigs.k8s.io" / f"kwok@{KWOK_VERSION}"

    @property
    def keda_crds(self) -> Path:
        return (
            self.module_cache
            / "github.com/kedacore/keda"
            / f"v2@{KEDA_VERSION}"
            / "config/crd/bases"
        )

    def missing(self) -> list[Path]:
        """What `make k8s-tools` has not produced yet."""
        wanted = [self.binary(name) for name in _BINARIES]
        wanted += [self.kubectl, self.kwok_module, self.keda_crds]
        return [path for path in wanted if not path.exists()]
