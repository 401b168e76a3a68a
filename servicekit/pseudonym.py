"""Pseudonyms for identifiers that telemetry must not carry raw (customer and conversation ids).

A keyed hash (HMAC-SHA256): the same id gives the same pseudonym, so a span or log line can
still be matched to others about the same customer, but without the key nobody can test a
guessed id against it. The key comes from CAREPULSE_PSEUDONYM_KEY; every process of a
deployment should share it (`make run` generates one), or pseudonyms differ between services.
Without it a process draws a random key: pseudonyms then hold within that process only.
"""

import hashlib
import hmac
import logging
import os
import secrets

log = logging.getLogger(__name__)

KEY_VARIABLE = "CAREPULSE_PSEUDONYM_KEY"
_PREFIX = "ps_"
_HEX_CHARS = 16  # 64 bits: collisions are negligible at any realistic number of customers


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a pseudonym key needs at least 16 bytes")
        self._key = key

    @classmethod
    def from_environment(cls) -> "Pseudonymizer":
        configured = os.environ.get(KEY_VARIABLE, "")
        if configured:
            return cls(configured.encode())
        log.warning(
            "no pseudonym key configured; pseudonyms hold within this process only",
            extra={"variable": KEY_VARIABLE},
        )
        return cls(secrets.token_bytes(32))

    def __call__(self, identifier: str) -> str:
        digest = hmac.new(self._key, identifier.encode("utf-8"), hashlib.sha256).hexdigest()
        return _PREFIX + digest[:_HEX_CHARS]
