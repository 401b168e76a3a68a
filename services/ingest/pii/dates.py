"""Dates of birth: a valid date right after a birth cue ("DOB", "date of birth", "born")."""

import re
from datetime import date

from services.ingest.pii.digits import Span

# Support messages are full of ordinary dates ("ordered on 05/03"): those stay. A date is a
# date of birth only when it follows a birth cue within a few words without a digit between
# ("DOB: 12/04/1987", "born on April 12, 1987", "my birthday is 3rd March"). The year may be
# missing; a lone year ("born in 1987") is not redacted.
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?P<{}>\d{{1,2}})(?:st|nd|rd|th)?"
_DATE = (
    r"(?P<iso>\d{4}-\d{1,2}-\d{1,2})"
    r"|(?P<numeric>\d{1,2}(?P<sep>[./-])\d{1,2}(?:(?P=sep)(?:\d{4}|\d{2}))?)"
    rf"|{_DAY.format('day')}(?:\s+of)?\s+(?P<month>{_MONTH})(?:,?\s+(?P<year>\d{{4}}))?"
    rf"|(?P<month_first>{_MONTH})\s+{_DAY.format('day2')}(?:,?\s+(?P<year2>\d{{4}}))?"
)
_BIRTH_CUE = r"\b(?:d\.?o\.?b\b\.?|date\s+of\s+birth|birth\s*date|birthday|born|geb\.|geboren)"
_DATE_OF_BIRTH = re.compile(
    rf"{_BIRTH_CUE}[^\d]{{0,25}}?(?<!\w)(?:{_DATE})(?!\w|[./-]\d)", re.IGNORECASE
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def date_of_birth_spans(text: str) -> list[Span]:
    spans = []
    for match in _DATE_OF_BIRTH.finditer(text):
        kind = next(
            name
            for name in ("iso", "numeric", "day", "month_first")
            if match.group(name) is not None
        )
        if _is_valid(match, kind):
            spans.append((match.start(kind), match.end()))
    return spans


def _is_valid(match: re.Match[str], kind: str) -> bool:
    if kind == "iso":
        year, month, day = (int(part) for part in match.group("iso").split("-"))
        return _exists(year, month, day)
    if kind == "numeric":
        parts = [int(part) for part in re.split(r"[./-]", match.group("numeric"))]
        year = parts[2] if len(parts) == 3 else 2000  # a leap year: 29/02 exists
        # Day first or month first: either reading makes it a date.
        return _exists(year, parts[1], parts[0]) or _exists(year, parts[0], parts[1])
    if kind == "day":
        month = _MONTHS.index(match.group("month")[:3].lower()) + 1
        return _exists(int(match.group("year") or 2000), month, int(match.group("day")))
    month = _MONTHS.index(match.group("month_first")[:3].lower()) + 1
    return _exists(int(match.group("year2") or 2000), month, int(match.group("day2")))


def _exists(year: int, month: int, day: int) -> bool:
    try:
        date(year if year >= 100 else 2000 + year, month, day)
    except ValueError:
        return False
    return True
