"""The console's files, read once at start and served from memory (no thread, no disk read per
request), each with a content hash as its ETag."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str

    @property
    def etag(self) -> str:
        return f'"{hashlib.sha256(self.body).hexdigest()[:32]}"'


def load_assets(root: Path) -> dict[str, Asset]:
    """Every file under `root` by its relative path; a file of an unknown type is an error,
    since serving it without a declared type would let a browser guess (nosniff refuses)."""
    assets: dict[str, Asset] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        media_type = MEDIA_TYPES.get(path.suffix)
        if media_type is None:
            raise ValueError(f"console file of unknown type: {path}")
        assets[path.relative_to(root).as_posix()] = Asset(path.read_bytes(), media_type)
    return assets
