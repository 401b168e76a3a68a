"""The dev secrets script: what the manifests read exists, and a rerun changes nothing."""

import base64

import pytest

from local.k8s.dev_secrets import InconsistentSecrets, ensure_dev_secrets
from tests.cluster.overlays import DeployedOverlay

pytestmark = pytest.mark.cluster

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job"}


def test_every_secret_key_a_pod_reads_exists(deployed: DeployedOverlay) -> None:
    """kwok starts no container, so a missing Secret would go unnoticed without this."""
    wanted: set[tuple[str, str | None]] = set()
    for workload in deployed.rendered:
        if workload["kind"] not in WORKLOAD_KINDS:
            continue
        pod = workload["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    wanted.add((ref["name"], ref["key"]))
            for source in container.get("envFrom", []):
                ref = source.get("secretRef")
                if ref and not ref.get("optional"):
                    wanted.add((ref["name"], None))
    present = {
        secret["metadata"]["name"]: set(secret.get("data", {}))
        for secret in deployed.kubectl.items("secrets", "--namespace", deployed.namespace)
    }
    missing = [
        f"{name}/{key}"
        for name, key in sorted(wanted, key=str)
        if name not in present or (key is not None and key not in present[name])
    ]
    assert wanted
    assert missing == []


def test_rerun_leaves_existing_secrets_alone(deployed: DeployedOverlay) -> None:
    before = _secret_data(deployed)
    assert ensure_dev_secrets(deployed.kubectl, deployed.namespace, report=lambda _: None) == []
    assert _secret_data(deployed) == before


def test_database_url_embeds_the_postgres_password(deployed: DeployedOverlay) -> None:
    data = _secret_data(deployed)
    password = data["carepulse-postgres"]["POSTGRES_PASSWORD"]
    assert f":{password}@postgres:5432/" in data["carepulse-database"]["DATABASE_URL"]


# About the script, not an overlay: once is enough.
@pytest.mark.parametrize("deployed", ["dev"], indirect=True)
def test_half_a_secret_group_is_refused_not_regenerated(deployed: DeployedOverlay) -> None:
    kubectl, namespace = deployed.kubectl, "secrets-check"
    ensure_dev_secrets(kubectl, namespace, report=lambda _: None)
    kubectl.run("delete", "secret", "carepulse-database", "--namespace", namespace)
    with pytest.raises(InconsistentSecrets, match="carepulse-postgres"):
        ensure_dev_secrets(kubectl, namespace, report=lambda _: None)
    kubectl.run("delete", "namespace", namespace, "--wait=false")


def _secret_data(deployed: DeployedOverlay) -> dict[str, dict[str, str]]:
    return {
        secret["metadata"]["name"]: {
            key: base64.b64decode(value).decode() for key, value in secret.get("data", {}).items()
        }
        for secret in deployed.kubectl.items("secrets", "--namespace", deployed.namespace)
    }
