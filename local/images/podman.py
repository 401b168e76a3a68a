"""The podman and buildah commands `make images` runs; every call goes through CONTAINERS_CONF."""

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


class EngineError(RuntimeError):
    """A podman/buildah command failed; the message carries its output's tail."""


class Podman:
    def __init__(self, containers_conf: Path, log_dir: Path) -> None:
        self._env = {**os.environ, "CONTAINERS_CONF": str(containers_conf)}
        self._log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)

    def build(
        self,
        *,
        context: Path,
        target: str,
        tag: str,
        build_args: Mapping[str, str],
        secrets: Mapping[str, Path],
    ) -> Path:
        """`buildah build` one target (layers cached, chroot isolation); returns its log file."""
        log = self._log_dir / f"build-{target}.log"
        argv = ["buildah", "build", "--layers", "--isolation=chroot", "--target", target, "-t", tag]
        for name, value in build_args.items():
            argv += ["--build-arg", f"{name}={value}"]
        for secret_id, path in secrets.items():
            argv += ["--secret", f"id={secret_id},src={path}"]
        with log.open("w", encoding="utf-8") as sink:
            done = subprocess.run(
                [*argv, str(context)], env=self._env, stdout=sink, stderr=subprocess.STDOUT
            )
        if done.returncode != 0:
            raise EngineError(f"building {target} failed (log: {log}):\n{_tail(log.read_text())}")
        return log

    def import_rootfs(self, tarball: Path, tag: str, changes: Sequence[str]) -> None:
        argv = ["podman", "import"]
        for change in changes:
            argv += ["--change", change]
        self._run([*argv, str(tarball), tag])

    def image_exists(self, tag: str) -> bool:
        return self._run(["podman", "image", "exists", tag], check=False).returncode == 0

    def image_config(self, tag: str) -> dict[str, object]:
        """`podman image inspect`: Size (bytes), Config (User, Env, Labels, ...)."""
        inspected = json.loads(self._run(["podman", "image", "inspect", tag]).stdout)
        return dict(inspected[0])

    def run(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
        """`podman <argv>`; `env` adds variables the command may pass on by name (`--env X`)."""
        return self._run(["podman", *argv], extra_env=env).stdout

    def running(self, container: str) -> bool:
        state = self._run(
            ["podman", "container", "inspect", "--format", "{{.State.Running}}", container],
            check=False,
        )
        return state.stdout.strip() == "true"

    def logs(self, container: str) -> str:
        done = self._run(["podman", "logs", container], check=False)
        return done.stdout + done.stderr  # podman replays the container's stderr on its own

    def remove(self, container: str) -> None:
        """Stop (SIGTERM, then SIGKILL after 10 s) and delete; a missing container is fine."""
        self._run(["podman", "rm", "--force", "--time", "10", container], check=False)

    def _run(
        self, argv: Sequence[str], *, check: bool = True, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            list(argv),
            env={**self._env, **(extra_env or {})},
            capture_output=True,
            text=True,
        )
        if check and done.returncode != 0:
            raise EngineError(f"{' '.join(argv[:3])} failed: {_tail(done.stdout + done.stderr)}")
        return done


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])
