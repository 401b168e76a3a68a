"""Signing webhook bodies: HMAC-SHA256 over "<timestamp>.<raw body>".

Covering the timestamp lets a receiver refuse an old request replayed by whoever captured it;
receivers should reject timestamps outside a few minutes of their own clock.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-CarePulse-Signature"
TIMESTAMP_HEADER = "X-CarePulse-Timestamp"
_SCHEME = "sha256="


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The X-CarePulse-Signature value: `sha256=<hex>`."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return _SCHEME + digest


def verify(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now_s: float,
    tolerance_s: float = 300,
) -> bool:
    """What a receiver does: a valid signature on a fresh timestamp."""
    if not timestamp.isdigit() or abs(now_s - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
