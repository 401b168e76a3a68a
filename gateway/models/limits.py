"""Size limits written into the request schemas, so oversized input fails fast and cheaply.

Pydantic checks a list's length before validating its items, so a batch of 50,000 items costs
one error, not 50,000. Text is bounded in characters as sent, before ingest's Unicode
normalization (NFKC), which can make a string up to ~18 times longer.
"""

# The largest batch the gateway accepts; GATEWAY_MAX_BATCH_MESSAGES may only lower it.
MAX_BATCH_MESSAGES = 500
# Ingest's default INGEST_MAX_TEXT_CHARS: a longer text would be refused there anyway.
MAX_TEXT_CHARS = 4000
# Field errors a 422 lists; the rest are counted in its detail.
MAX_REPORTED_ERRORS = 20
