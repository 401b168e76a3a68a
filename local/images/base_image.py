"""A stand-in for the official Python base image, for machines that reach no image registry.

Debian bookworm (minbase) with Debian's Python 3.11, made by debootstrap from the apt mirror and
imported into podman. The Dockerfile works on both: it creates its venv with `python3 -m venv`.
"""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from local.images.podman import Podman

SUITE = "bookworm"
# What python:3.11-slim-bookworm has that a service needs: Python with venv/ensurepip (pip's
# wheel), CA certificates, time zones, /etc/services.
PACKAGES = ("python3.11", "python3-venv", "ca-certificates", "tzdata", "netbase")
MIRROR = os.environ.get("CAREPULSE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Files a container never reads; the official slim images leave them out too.
PRUNED = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)
IMPORT_CHANGES = (
    "ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    'CMD=["python3"]',
)


def base_image_tag() -> str:
    """Named after what it contains, so a change of package list makes (and caches) a new one."""
    digest = hashlib.sha256(" ".join((SUITE, *PACKAGES)).encode()).hexdigest()[:10]
    return f"localhost/carepulse-base:{SUITE}-py311-{digest}"


def ensure_base_image(podman: Podman, cache_dir: Path) -> str:
    """The stand-in's tag; debootstraps (~1 min) only when no cached tarball exists."""
    tag = base_image_tag()
    if podman.image_exists(tag):
        return tag
    tarball = cache_dir / f"{tag.rsplit(':', 1)[1]}.tar"
    if not tarball.exists():
        _debootstrap_tarball(tarball)
    podman.import_rootfs(tarball, tag, IMPORT_CHANGES)
    return tag


def _debootstrap_tarball(tarball: Path) -> None:
    rootfs = tarball.with_suffix(".rootfs")
    shutil.rmtree(rootfs, ignore_errors=True)
    try:
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(rootfs),
                MIRROR,
            ],
            check=True,
        )
        for relative in PRUNED:
            for entry in (rootfs / relative).glob("*"):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        partial = tarball.with_suffix(".partial")
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], check=True
        )
        partial.rename(tarball)  # a complete tarball or none: an interrupted run starts over
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
