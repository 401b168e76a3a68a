"""Email addresses."""

import re

from services.ingest.pii.digits import Span

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@(?:[\w-]+\.)+[^\W\d_]{2,}\b")


def email_spans(text: str) -> list[Span]:
    return [match.span() for match in _EMAIL.finditer(text)]
