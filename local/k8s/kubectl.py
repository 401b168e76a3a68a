"""kubectl as a subprocess: the same client a developer runs, JSON in and out."""

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class KubectlError(RuntimeError):
    """kubectl exited non-zero; the message carries its stderr."""


@dataclass(frozen=True)
class Kubectl:
    binary: Path | str = "kubectl"
    kubeconfig: Path | None = None
    context: str | None = None

    def run(self, *args: str, stdin: str | None = None, timeout_s: float = 120) -> str:
        argv = [str(self.binary)]
        if self.kubeconfig:
            argv += ["--kubeconfig", str(self.kubeconfig)]
        if self.context:
            argv += ["--context", self.context]
        result = subprocess.run(
            [*argv, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if result.returncode != 0:
            raise KubectlError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def get(self, *args: str) -> dict[str, Any]:
        """`kubectl get ARGS -o json`, parsed."""
        parsed: dict[str, Any] = json.loads(self.run("get", *args, "-o", "json"))
        return parsed

    def items(self, *args: str) -> list[dict[str, Any]]:
        """The objects of a `kubectl get` list."""
        items: list[dict[str, Any]] = self.get(*args)["items"]
        return items

    def live_objects(self, objects: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The server's copy of each object; fails if any of them does not exist."""
        live = json.loads(self.run("get", "-f", "-", "-o", "json", stdin=_as_list(objects)))
        items: list[dict[str, Any]] = live["items"] if live["kind"] == "List" else [live]
        return items

    def create_objects(self, objects: Sequence[dict[str, Any]]) -> str:
        """`kubectl create` of objects passed on stdin, so no value shows in a process list."""
        return self.run("create", "-f", "-", stdin=_as_list(objects))

    def apply_objects(self, objects: Sequence[dict[str, Any]], *extra: str) -> str:
        """Server-side apply of objects passed on stdin."""
        return self.run("apply", "--server-side", "-f", "-", *extra, stdin=_as_list(objects))


def _as_list(objects: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
