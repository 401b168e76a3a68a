"""The `Idempotency-Key` request header: a client's name for one request, kept across retries."""

from typing import Annotated

from fastapi import Header

# As ingest bounds it; printable ASCII, the characters of an HTTP structured-field string.
MAX_IDEMPOTENCY_KEY_CHARS = 255

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY_CHARS,
        pattern=r"^[ -~]+$",
        description="A unique value per request (a UUID, say), repeated on each retry of it:"
        " the retry gets the same message ids and is not counted again. Printable ASCII,"
        f" at most {MAX_IDEMPOTENCY_KEY_CHARS} characters.",
    ),
]
