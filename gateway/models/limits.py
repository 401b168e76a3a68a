"""Size limits written into the request schemas, so oversized input fails fast and cheaply.

Pydantic checks a list's length before validating its items, so a batch of 50,000 items costs
one error, not 50,000. Text is bounded in characters as sent, before ingest's Unicode
normalization (NFKC), which can make a string up to ~18 times longer.
"""

from typing import Literal

# The largest batch the gateway accepts; GATEWAY_MAX_BATCH_MESSAGES may only lower it.
MAX_BATCH_MESSAGES = 500
# Ingest's default INGEST_MAX_TEXT_CHARS: a longer text would be refused there anyway.
MAX_TEXT_CHARS = 4000
# Field errors a 422 lists; the rest are counted in its detail.
MAX_REPORTED_ERRORS = 20
# As ingest bounds ids (services/ingest/normalize.py): a longer one would be refused there,
# with a 400 the schema did not announce.
MAX_ID_CHARS = 128
# The channels ingest accepts; the schema lists them, so a client learns them from /docs.
Channel = Literal["chat", "app", "social", "email"]
# What the schema cannot say about an id, and ingest refuses with 400.
ID_RULES = "Printable characters, no leading or trailing whitespace."
