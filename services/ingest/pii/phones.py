"""Phone numbers: international, national with a trunk zero, and North American."""

import re

from services.ingest.pii.digits import Span, best_spans, cue_before

# Digit groups joined by up to two of " .()-", e.g. "+44 (0)20 7946 0958" or "(555) 123-4567";
# or a zero-led area code and a slash, "030/1234567" (a slash anywhere else is a date's).
_PHONE_RUN = re.compile(r"(?<![\w+])(?:0\d{2,4}/\d{3}|\+?\(?\d)\d*(?:[ .()-]{1,2}\d+)*")
_INTERNATIONAL = re.compile(r"(?:\+|00)[1-9][\d ().-]*")
_NATIONAL_TRUNK = re.compile(r"\(?0[1-9][\d ()./-]*")
_NORTH_AMERICAN = re.compile(r"(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}")
# Unbroken, a North American number needs valid codes: area and exchange start with 2-9 and
# are not N11 service codes; area codes with a middle 9 are reserved.
_NORTH_AMERICAN_UNBROKEN = re.compile(r"1?[2-9](?!11)[0-8]\d[2-9](?!11)\d\d\d{4}")
# ... and is an order or tracking number, not a phone, after such a word.
_REFERENCE_CUE = re.compile(
    r"\b(?:order|ref|reference|invoice|inv|tracking|parcel|shipment|account|acct|customer"
    r"|ticket|case|booking|confirmation|transaction|batch|item|sku|id)\b|#",
    re.IGNORECASE,
)
# Dates are masked before phones are looked for: "05.03.2024 10:30" would otherwise read
# as the zero-led number 05 03 2024 10. The look-arounds keep "06.12.34.56.78" a phone.
_DATE = re.compile(
    r"(?<![\w.,/-])(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}([./-])\d{1,2}\1(?:\d{4}|\d{2}))"
    r"(?!\d|[./-]\d)"
)


def phone_spans(text: str) -> list[Span]:
    # "_" is a word character, so no phone run can start or continue inside a mask.
    without_dates = _DATE.sub(lambda date: "_" * len(date.group()), text)
    return [
        (start, end)
        for start, end in best_spans(without_dates, _PHONE_RUN, _is_phone_number)
        if not (
            _NORTH_AMERICAN_UNBROKEN.fullmatch(text[start:end])
            and cue_before(_REFERENCE_CUE, text, start, max_gap=12)
        )
    ]


def _is_phone_number(candidate: str, digit_count: int) -> bool:
    if digit_count < 7:
        return False
    if _INTERNATIONAL.fullmatch(candidate):
        international_digits = digit_count - 2 if candidate.startswith("00") else digit_count
        return 8 <= international_digits <= 15
    if _NATIONAL_TRUNK.fullmatch(candidate):
        return 9 <= digit_count <= 12
    return (
        _NORTH_AMERICAN.fullmatch(candidate) is not None
        or _NORTH_AMERICAN_UNBROKEN.fullmatch(candidate) is not None
    )
