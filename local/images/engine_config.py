"""The containers.conf `make images` hands podman and buildah through CONTAINERS_CONF."""

from pathlib import Path

# runc, not crun: the runtime known to start containers in this kind of sandbox. The ulimits are
# set explicitly because the engine's defaults (inherited from a container host) may be missing.
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
"""


def write_containers_conf(cache_dir: Path) -> Path:
    """Write the file under the user cache (never the repository) and return its path."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / "containers.conf"
    path.write_text(CONTAINERS_CONF)
    return path
