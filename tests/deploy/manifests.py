"""Rendered Kubernetes objects: `kubectl kustomize` output as dicts; walks over pod templates."""

import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
OVERLAYS_DIR = REPO_ROOT / "k8s" / "overlays"
NAMESPACE = "carepulse"

# The deployables and their images, as CONTEXT's contracts name them.
SERVICES = ("gateway", "ingest", "classify", "recommend", "alert")
# Recommend holds no model: classify sends the vectors it ranks.
MODEL_SERVING = ("classify",)
# What k8s/components/observability runs beside them (dev and production).
OBSERVABILITY = ("otel-collector", "zipkin", "prometheus", "grafana")
GRPC_PORTS = {"ingest": 50051, "classify": 50052, "recommend": 50053, "alert": 50054}
METRICS_PORTS = {"ingest": 9101, "classify": 9102, "recommend": 9103, "alert": 9104}
GATEWAY_PORT = 8080

Manifest = dict[str, Any]
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")


def overlay_names() -> list[str]:
    return sorted(p.name for p in OVERLAYS_DIR.iterdir() if (p / "kustomization.yaml").is_file())


class Renders:
    """`kubectl kustomize` of each overlay, rendered once per test session."""

    def __init__(self, kubectl: Path) -> None:
        self._kubectl = kubectl
        self._cache: dict[Path, list[Manifest]] = {}

    def path(self, path: Path) -> list[Manifest]:
        path = path.resolve()
        if path not in self._cache:
            result = subprocess.run(
                [str(self._kubectl), "kustomize", str(path)],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise AssertionError(f"kubectl kustomize {path} failed:\n{result.stderr}")
            self._cache[path] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        return self._cache[path]

    def overlay(self, name: str) -> list[Manifest]:
        return self.path(OVERLAYS_DIR / name)


@dataclass(frozen=True)
class PodTemplate:
    """The pod template of a Deployment, StatefulSet or Job."""

    workload: Manifest

    @property
    def kind(self) -> str:
        return str(self.workload["kind"])

    @property
    def name(self) -> str:
        return str(self.workload["metadata"]["name"])

    @property
    def spec(self) -> Manifest:
        spec: Manifest = self.workload["spec"]["template"]["spec"]
        return spec

    @property
    def labels(self) -> dict[str, str]:
        labels: dict[str, str] = self.workload["spec"]["template"]["metadata"].get("labels", {})
        return labels

    @property
    def containers(self) -> list[Manifest]:
        containers: list[Manifest] = self.spec["containers"]
        return containers

    @property
    def init_containers(self) -> list[Manifest]:
        containers: list[Manifest] = self.spec.get("initContainers", [])
        return containers

    def all_containers(self) -> Iterator[Manifest]:
        yield from self.init_containers
        yield from self.containers

    def main_container(self) -> Manifest:
        """The container named after its workload (every workload here has one)."""
        matches = [c for c in self.containers if c["name"] == self.name]
        assert len(matches) == 1, f"{self.kind}/{self.name} has no container named {self.name}"
        return matches[0]

    def volume(self, name: str) -> Manifest:
        matches = [v for v in self.spec.get("volumes", []) if v["name"] == name]
        assert matches, f"{self.kind}/{self.name}: volume {name!r} is mounted but not defined"
        volume: Manifest = matches[0]
        return volume


def pod_templates(objects: list[Manifest]) -> list[PodTemplate]:
    return [PodTemplate(o) for o in objects if o["kind"] in WORKLOAD_KINDS]


def pod_template(objects: list[Manifest], name: str) -> PodTemplate:
    matches = [t for t in pod_templates(objects) if t.name == name]
    assert len(matches) == 1, f"expected one workload named {name}, found {len(matches)}"
    return matches[0]


def of_kind(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def config_map_data(objects: list[Manifest], generated_name: str) -> dict[str, str]:
    """The data of a generated ConfigMap, found by its name before kustomize's hash suffix."""
    matches = [
        o
        for o in of_kind(objects, "ConfigMap")
        if o["metadata"]["name"].rsplit("-", 1)[0] == generated_name
    ]
    assert len(matches) == 1, f"expected one ConfigMap {generated_name}-<hash>, found {matches}"
    data: dict[str, str] = matches[0].get("data", {})
    return data


def container_env(objects: list[Manifest], container: Manifest) -> dict[str, str]:
    """Literal env values and those from referenced ConfigMaps (secrets stay references)."""
    env: dict[str, str] = {}
    config_maps = {o["metadata"]["name"]: o.get("data", {}) for o in of_kind(objects, "ConfigMap")}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
    return env


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics; an empty selector matches everything."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


_SUFFIXES = {
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
}


def quantity(value: str | int | float) -> Fraction:
    """A Kubernetes resource quantity ("250m", "1.5Gi", 2) as an exact number."""
    text = str(value)
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            return Fraction(text[: -len(suffix)]) * _SUFFIXES[suffix]
    return Fraction(text)
