"""API keys as SHA-256 hashes with their role; presented keys are matched in constant time."""

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CLIENT = "client"  # chat, messages, feedback
    OPERATOR = "operator"  # alerts


@dataclass(frozen=True)
class ApiKey:
    role: Role
    name: str  # who holds the key; recorded as the operator on acknowledgements
    sha256: str  # lowercase hex digest of the key; the key itself is never kept

    def __repr__(self) -> str:
        return f"ApiKey(role={self.role.value!r}, name={self.name!r})"


def sha256_hex(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyRing:
    def __init__(self, keys: tuple[ApiKey, ...]) -> None:
        self._keys = keys

    def find(self, presented: str) -> ApiKey | None:
        """The key whose hash matches, comparing against every entry so timing reveals nothing."""
        digest = sha256_hex(presented).encode("ascii")
        found = None
        for key in self._keys:
            if hmac.compare_digest(digest, key.sha256.encode("ascii")):
                found = key
        return found
