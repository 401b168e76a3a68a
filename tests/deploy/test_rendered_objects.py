"""Every overlay renders, and every object in it is valid for the Kubernetes API (or KEDA's CRD)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from kubernetes_validate.utils import all_versions  # type: ignore[import-untyped]

from tests.deploy.manifests import NAMESPACE, Manifest, Renders, of_kind, overlay_names

OVERLAYS = overlay_names()
# Kinds that are not built into Kubernetes; each is checked against its own CRD.
CUSTOM_KINDS = {("keda.sh/v1alpha1", "ScaledObject")}
CLUSTER_SCOPED_KINDS = {"Namespace"}


def newest_kubernetes_versions() -> list[str]:
    """The two newest Kubernetes versions whose schemas kubernetes-validate bundles."""
    # all_versions() lists each version twice (plain and strict schemas), oldest first.
    versions: list[str] = list(dict.fromkeys(all_versions()))
    return versions[-2:]


def test_overlays_dev_gpu_and_production_exist() -> None:
    assert {"dev", "gpu", "production"} <= set(OVERLAYS)


def test_validation_covers_two_distinct_kubernetes_versions() -> None:
    versions = newest_kubernetes_versions()
    assert len(set(versions)) == 2, versions


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_objects_in_the_carepulse_namespace(renders: Renders, overlay: str) -> None:
    objects = renders.overlay(overlay)
    assert objects, f"{overlay} renders nothing"
    for obj in objects:
        where = f"{overlay}: {obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in CLUSTER_SCOPED_KINDS:
            assert obj["metadata"]["name"] == NAMESPACE, where
        else:
            assert obj["metadata"].get("namespace") == NAMESPACE, where
        labels = obj["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "carepulse", where


@pytest.mark.parametrize("version", newest_kubernetes_versions())
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_strictly_against_kubernetes(
    renders: Renders, overlay: str, version: str
) -> None:
    failures = []
    for obj in renders.overlay(overlay):
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            # An unknown kind or apiVersion is a failure, never a silent skip.
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message}")
    assert not failures, f"{overlay} against Kubernetes {version}:\n" + "\n".join(failures)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaledobjects_validate_strictly_against_kedas_crd(
    renders: Renders, overlay: str, scaledobject_crd_file: Path
) -> None:
    validator = jsonschema.Draft7Validator(crd_schema(scaledobject_crd_file, "v1alpha1"))
    for obj in of_kind(renders.overlay(overlay), "ScaledObject"):
        assert obj["apiVersion"] == "keda.sh/v1alpha1"
        errors = [
            f"{'.'.join(str(p) for p in e.path)}: {e.message}" for e in validator.iter_errors(obj)
        ]
        assert not errors, f"ScaledObject/{obj['metadata']['name']}:\n" + "\n".join(errors)


def test_keda_schema_check_rejects_an_unknown_field(scaledobject_crd_file: Path) -> None:
    """The CRD check is strict, as the API server's field validation is: typos do not pass."""
    validator = jsonschema.Draft7Validator(crd_schema(scaledobject_crd_file, "v1alpha1"))
    typo = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {"scaleTargetRef": {"name": "x"}, "triggers": [], "maxReplicas": 3},
    }
    assert any("maxReplicas" in e.message for e in validator.iter_errors(typo))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_is_rendered_from_the_repository(renders: Renders, overlay: str) -> None:
    assert not of_kind(renders.overlay(overlay), "Secret")


def crd_schema(crd_file: Path, version: str) -> dict[str, Any]:
    """The CRD's OpenAPI schema for `version`, made strict: unknown fields are errors."""
    crd = yaml.safe_load(crd_file.read_text())
    versions = [v for v in crd["spec"]["versions"] if v["name"] == version and v["served"]]
    assert versions, f"{crd_file.name} serves no {version}"
    schema: dict[str, Any] = versions[0]["schema"]["openAPIV3Schema"]
    for node in _object_schemas(schema):
        preserves = node.get("x-kubernetes-preserve-unknown-fields", False)
        if "properties" in node and "additionalProperties" not in node and not preserves:
            node["additionalProperties"] = False
    return schema


def _object_schemas(node: Manifest) -> Iterator[Manifest]:
    yield node
    for child in node.get("properties", {}).values():
        yield from _object_schemas(child)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _object_schemas(node[key])
