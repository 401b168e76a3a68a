"""Random secrets for a dev cluster, created through kubectl; existing ones are left alone.

    python -m local.k8s.dev_secrets [--context kind-kind] [--namespace carepulse]

Run it once before `skaffold dev`. The plaintext API keys are printed only when created:
the Secret holds their SHA-256 digests, as the gateway expects.
"""

import argparse
import hashlib
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.k8s.kubectl import Kubectl

NAMESPACE = "carepulse"
# The dev postgres component's database and role; the password is the secret part.
POSTGRES_USER = "carepulse"
POSTGRES_DB = "carepulse"


@dataclass(frozen=True)
class DevSecret:
    name: str
    data: dict[str, str]
    shown: dict[str, str]  # what a developer needs to see once (plaintext API keys)


def dev_secret_groups() -> list[list[DevSecret]]:
    """Fresh random values for every Secret the manifests reference, grouped by what must
    stay consistent: the database URL embeds the postgres password."""
    client_key = f"cp_{secrets.token_urlsafe(24)}"
    operator_key = f"cp_{secrets.token_urlsafe(24)}"
    key_hashes = (
        f"client:dev-client:{_sha256(client_key)},operator:dev-operator:{_sha256(operator_key)}"
    )
    password = secrets.token_urlsafe(24)
    database_url = f"postgresql://{POSTGRES_USER}:{password}@postgres:5432/{POSTGRES_DB}"
    webhook_secret = secrets.token_hex(32)
    pseudonym_key = secrets.token_urlsafe(32)
    return [
        [
            DevSecret(
                "carepulse-api-keys",
                {"GATEWAY_API_KEY_HASHES": key_hashes},
                {"client key": client_key, "operator key": operator_key},
            )
        ],
        [
            DevSecret("carepulse-postgres", {"POSTGRES_PASSWORD": password}, {}),
            DevSecret("carepulse-database", {"DATABASE_URL": database_url}, {}),
        ],
        [DevSecret("carepulse-alert-webhook", {"ALERT_WEBHOOK_SECRET": webhook_secret}, {})],
        [DevSecret("carepulse-telemetry", {"CAREPULSE_PSEUDONYM_KEY": pseudonym_key}, {})],
    ]


class InconsistentSecrets(RuntimeError):
    """Only part of a group exists; new values would not match the old ones."""


def ensure_dev_secrets(
    kubectl: Kubectl, namespace: str = NAMESPACE, report: Callable[[str], None] = print
) -> list[str]:
    """Create the namespace and each missing group of Secrets; returns the names created."""
    if not _exists(kubectl, "namespace", namespace):
        kubectl.run("create", "namespace", namespace)
    created = []
    for group in dev_secret_groups():
        names = [secret.name for secret in group]
        existing = [name for name in names if _exists(kubectl, "secret", name, namespace)]
        if existing == names:
            report(f"secrets {', '.join(names)}: exist, left alone")
            continue
        if existing:
            raise InconsistentSecrets(
                f"{namespace}: {', '.join(existing)} exist without the rest of {names};"
                " delete them to have the set created afresh"
            )
        for secret in group:
            # On stdin, never on the command line, where `ps` would show the values.
            kubectl.create_objects([_manifest(secret, namespace)])
            created.append(secret.name)
            shown = "".join(f"\n  {label}: {value}" for label, value in secret.shown.items())
            report(f"secret {secret.name}: created{shown}")
    return created


def _manifest(secret: DevSecret, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret.name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "carepulse"},
        },
        "type": "Opaque",
        "stringData": secret.data,
    }


def _exists(kubectl: Kubectl, kind: str, name: str, namespace: str | None = None) -> bool:
    scope = ["--namespace", namespace] if namespace else []
    found = kubectl.run("get", kind, name, *scope, "--ignore-not-found", "-o", "name")
    return bool(found.strip())


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--namespace", default=NAMESPACE)
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: kubectl's own rule)")
    parser.add_argument(
        "--kubectl", default=os.environ.get("CAREPULSE_KUBECTL", "kubectl"), help="kubectl binary"
    )
    args = parser.parse_args()
    kubeconfig = Path(args.kubeconfig) if args.kubeconfig else None
    kubectl = Kubectl(binary=args.kubectl, kubeconfig=kubeconfig, context=args.context)
    ensure_dev_secrets(kubectl, args.namespace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
