"""The user cache folder for downloads and derived data (never the repository)."""

import os
from pathlib import Path


def user_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/carepulse`, by default `~/.cache/carepulse` (the Makefile's CACHE_DIR)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "carepulse"
