"""Signing webhook requests: HMAC-SHA256 over "<timestamp>.<idempotency key>.<raw body>".

Covering the timestamp lets a receiver refuse an old request replayed by whoever captured it;
covering the idempotency key stops a replay under a fresh key, which a receiver that
de-duplicates by key would otherwise act on again. Receivers should reject timestamps outside a
few minutes of their own clock.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-CarePulse-Signature"
TIMESTAMP_HEADER = "X-CarePulse-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_SCHEME = "sha256="


def sign(secret: bytes, timestamp: str, idempotency_key: str, body: bytes) -> str:
    """The X-CarePulse-Signature value: `sha256=<hex>`."""
    signed = b".".join([timestamp.encode(), idempotency_key.encode(), body])
    return _SCHEME + hmac.new(secret, signed, hashlib.sha256).hexdigest()


def verify(
    secret: bytes,
    timestamp: str,
    idempotency_key: str,
    body: bytes,
    signature: str,
    *,
    now_s: float,
    tolerance_s: float = 300,
) -> bool:
    """What a receiver does: a valid signature on a fresh timestamp."""
    if not timestamp.isdigit() or abs(now_s - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, idempotency_key, body), signature)
