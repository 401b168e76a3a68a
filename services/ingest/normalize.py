"""Text normalization and request validation: what a message must look like to be ingested."""

import unicodedata
from datetime import datetime

from services.ingest.errors import InvalidMessage

CHANNELS = frozenset({"chat", "app", "social", "email"})
DEFAULT_CHANNEL = "chat"
DEFAULT_MAX_TEXT_CHARS = 4000
MAX_ID_CHARS = 128
# As the gateway bounds the Idempotency-Key header: printable ASCII, like an HTTP sf-string.
# How much longer than its limit a text may arrive, before normalization.
RAW_TEXT_FACTOR = 4
MAX_IDEMPOTENCY_KEY_CHARS = 255

# Invisible format characters that carry no meaning in a support message but can split a
# card number or an email so that redaction misses it, or reorder text on screen (bidi
# overrides). Zero-width (non-)joiners stay: emoji sequences and several scripts need them.
_INVISIBLE = frozenset(
    "\u00ad"  # soft hyphen
    "\u200b"  # zero-width space
    "\u2060"  # word joiner
    "\ufeff"  # byte-order mark / zero-width no-break space
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # bidi isolates
)
# Cc: control characters. Cs: lone surrogates, which JSON can carry but UTF-8 cannot encode.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs"})


def normalize_text(text: str) -> str:
    """NFKC-normalize, drop control and invisible characters, collapse whitespace, trim.

    NFKC folds look-alikes (full-width digits, ligatures, non-breaking spaces) into their
    plain forms, so redaction and the classifier see one spelling of each thing. Newlines
    and tabs become single spaces: a message is one line downstream.
    """
    kept = []
    for char in unicodedata.normalize("NFKC", text):
        if char.isspace():
            kept.append(" ")
        elif char not in _INVISIBLE and unicodedata.category(char) not in _DROPPED_CATEGORIES:
            kept.append(char)
    return " ".join("".join(kept).split())


def validate(
    *,
    caller: str,
    conversation_id: str,
    customer_id: str,
    text: str,
    channel: str,
    source: str,
    external_id: str | None = None,
    idempotency_key: str | None = None,
    sent_at: datetime | None = None,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
) -> str:
    """Raise InvalidMessage for the first field that is wrong; return the normalized text.

    The text limits apply to the normalized form, which is what gets stored and shown, so
    the caller gets it back instead of normalizing a second time.
    """
    # The de-duplication namespace: without it one caller's keys would shadow another's.
    _check_id("caller", caller)
    _check_id("conversation_id", conversation_id)
    _check_id("customer_id", customer_id)
    _check_id("source", source)
    # An external id is optional, but when given it becomes a de-duplication key held in
    # memory, so it gets the same bounds as every other id.
    if external_id is not None:
        _check_id("external_id", external_id)
    if idempotency_key is not None:
        _check_idempotency_key(idempotency_key)
    if channel not in CHANNELS:
        raise InvalidMessage("channel", f"must be one of {', '.join(sorted(CHANNELS))}")
    if sent_at is not None and sent_at.utcoffset() is None:
        raise InvalidMessage("sent_at", "must include a time zone offset, e.g. Z or +01:00")
    # Bounded before normalizing too: NFKC can make a string ~18x longer, and the work to
    # normalize grows with it (the gRPC message limit alone would allow 4 MiB of text). The
    # margin leaves room for whitespace and invisible characters that normalizing removes.
    if len(text) > RAW_TEXT_FACTOR * max_text_chars:
        raise InvalidMessage(
            "text", f"is longer than {RAW_TEXT_FACTOR * max_text_chars} characters as sent"
        )
    normalized = normalize_text(text)
    if not normalized:
        raise InvalidMessage("text", "is empty once whitespace and control characters are removed")
    if len(normalized) > max_text_chars:
        raise InvalidMessage("text", f"is longer than {max_text_chars} characters")
    return normalized


def _check_idempotency_key(value: str) -> None:
    if len(value) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidMessage(
            "idempotency_key", f"is longer than {MAX_IDEMPOTENCY_KEY_CHARS} characters"
        )
    if not all(" " <= char <= "~" for char in value):
        raise InvalidMessage("idempotency_key", "must contain only printable ASCII characters")


def _check_id(field: str, value: str) -> None:
    if not value.strip():
        raise InvalidMessage(field, "is required")
    if len(value) > MAX_ID_CHARS:
        raise InvalidMessage(field, f"is longer than {MAX_ID_CHARS} characters")
    # "abc " and "abc" would silently become two conversations; make the caller choose.
    if value != value.strip():
        raise InvalidMessage(field, "must not start or end with whitespace")
    if not value.isprintable():
        raise InvalidMessage(field, "must contain only printable characters")
