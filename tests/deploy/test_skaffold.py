"""skaffold.yaml: valid for its schema, buildable from this repository, and in step with k8s/."""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.manifests import (
    MODEL_SERVING,
    REPO_ROOT,
    SERVICES,
    Renders,
    named,
    pod_templates,
)

SKAFFOLD_FILE = REPO_ROOT / "skaffold.yaml"
SCHEMA_FILE = Path(__file__).parent / "schemas" / "skaffold-v4beta14.json"
# What the base config and each profile must deploy (the profile's name is the overlay's).
CONFIGS = ("default", "gpu", "production")
WORKDIR = "/app"


def skaffold() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(SKAFFOLD_FILE.read_text())
    return config


def section(config: dict[str, Any], name: str, key: str) -> Any:
    """A top-level section as a profile sees it: the profile's own if it defines one."""
    if name == "default":
        return config[key]
    profiles = {p["name"]: p for p in config["profiles"]}
    assert name in profiles, f"skaffold.yaml has no profile {name!r}"
    return profiles[name].get(key, config[key])


def artifacts(name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = section(skaffold(), name, "build")["artifacts"]
    return found


def kustomize_paths(name: str) -> list[Path]:
    return [REPO_ROOT / p for p in section(skaffold(), name, "manifests")["kustomize"]["paths"]]


def dockerfile_targets(dockerfile: Path) -> set[str]:
    """Stage names of a multi-stage Dockerfile (`FROM <image> AS <name>`)."""
    stage = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*\S+\s+AS\s+(\S+)\s*$", re.IGNORECASE)
    return {m.group(1) for line in dockerfile.read_text().splitlines() if (m := stage.match(line))}


def test_skaffold_yaml_validates_against_the_v4beta14_schema() -> None:
    config = skaffold()
    assert config["apiVersion"] == "skaffold/v4beta14"
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA_FILE.read_text()))
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(config)]
    assert not errors, "\n".join(errors)


def test_the_schema_rejects_an_unknown_field() -> None:
    config = skaffold()
    config["build"]["artifacts"][0]["docker"]["targt"] = "gateway"
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA_FILE.read_text()))
    assert not validator.is_valid(config)


@pytest.mark.parametrize("name", CONFIGS)
def test_every_artifact_has_a_context_dockerfile_and_target_that_exist(name: str) -> None:
    for artifact in artifacts(name):
        context = REPO_ROOT / artifact["context"]
        assert context.is_dir(), f"{artifact['image']}: no context {context}"
        dockerfile = context / artifact["docker"]["dockerfile"]
        assert dockerfile.is_file(), f"{artifact['image']}: no {dockerfile}"
        target = artifact["docker"]["target"]
        targets = dockerfile_targets(dockerfile)
        assert target in targets, f"{artifact['image']}: no stage {target!r} in {sorted(targets)}"


@pytest.mark.parametrize("name", CONFIGS)
def test_one_artifact_per_service_image(name: str) -> None:
    images = [a["image"] for a in artifacts(name)]
    assert sorted(images) == sorted(f"carepulse-{s}" for s in SERVICES)


@pytest.mark.parametrize("name", CONFIGS)
def test_model_services_build_cuda_targets_exactly_in_gpu_profiles(name: str) -> None:
    gpu = name in ("gpu", "production")
    for artifact in artifacts(name):
        service = artifact["image"].removeprefix("carepulse-")
        cuda = gpu and service in MODEL_SERVING
        assert artifact["docker"]["target"] == (f"{service}-cuda" if cuda else service)


@pytest.mark.parametrize("name", CONFIGS)
def test_each_config_deploys_its_overlay_with_kubectl(name: str) -> None:
    overlay = "dev" if name == "default" else name
    assert kustomize_paths(name) == [REPO_ROOT / "k8s" / "overlays" / overlay]
    assert "kubectl" in section(skaffold(), name, "deploy")


@pytest.mark.parametrize("name", CONFIGS)
def test_every_built_image_is_deployed_and_every_unpinned_image_is_built(
    renders: Renders, name: str
) -> None:
    built = {a["image"] for a in artifacts(name)}
    deployed = set()
    for path in kustomize_paths(name):
        for template in pod_templates(renders.path(path)):
            deployed |= {c["image"] for c in template.all_containers()}
    unpinned = {image for image in deployed if ":" not in image and "@" not in image}
    assert built <= deployed, f"built but never deployed: {sorted(built - deployed)}"
    assert unpinned <= built, f"deployed without a tag, and not built: {sorted(unpinned - built)}"


@pytest.mark.parametrize("name", CONFIGS)
def test_sync_rules_copy_existing_python_sources_into_the_workdir(name: str) -> None:
    for artifact in artifacts(name):
        rules = artifact["sync"]["manual"]
        assert rules, f"{artifact['image']}: no sync rules"
        for rule in rules:
            # Relative to WORKDIR /app, where the image runs the code from source.
            assert rule["dest"] == ".", rule
            assert rule["src"].endswith("*.py"), rule
            assert list(REPO_ROOT.glob(rule["src"])), f"{artifact['image']}: {rule} matches nothing"
        service_dir = "gateway" if artifact["image"] == "carepulse-gateway" else "services/"
        assert any(r["src"].startswith(service_dir) for r in rules), artifact["image"]


def test_port_forward_reaches_the_gateway_service(renders: Renders) -> None:
    forwards = skaffold()["portForward"]
    gateway = [f for f in forwards if f["resourceName"] == "gateway"]
    assert len(gateway) == 1
    forward = gateway[0]
    assert (forward["resourceType"], forward["port"], forward["localPort"]) == (
        "service",
        8080,
        8080,
    )
    service = named(renders.overlay("dev"), "Service", "gateway")
    assert forward["namespace"] == service["metadata"]["namespace"]
    assert 8080 in [p["port"] for p in service["spec"]["ports"]]
