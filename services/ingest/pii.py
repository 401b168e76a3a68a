"""PII redaction: emails, IBANs, payment card numbers and phone numbers become placeholders.

Detection favours shapes plus checksums over bare digit counts, so a support message keeps
its amounts, dates and order numbers. Known limits, accepted for now:

- Cards: recognized unbroken or in the groupings printed on cards (fours; 4-6-5 and 4-6-4);
  other groupings are missed. About one in ten unbroken 13-19 digit references not
  starting with 0 passes Luhn by chance and is redacted too.
- IBANs: only the electronic form and groups of four are recognized; the country's own
  length is not checked, so mod-97 is the only guard.
- Phones: recognized when international (+CC or 00CC, 8-15 digits), national with a trunk
  zero (0xx..., 9-12 digits) or North American 3-3-4 with separators. Unformatted national
  numbers without a leading zero ("5551234567"), slash-separated ones ("030/1234567") and
  numbers spelled out in words are missed; zero-led references of 9+ digits are redacted.
- Emails: written-out forms ("jane at example dot com") are missed.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

Span = tuple[int, int]


@dataclass(frozen=True)
class Redaction:
    """The redacted text and the kinds of PII found, each once, in detection order."""

    text: str
    kinds: tuple[str, ...]


def redact(text: str) -> Redaction:
    """Replace every email, IBAN, card and phone number with `[EMAIL]`, `[IBAN]`, ..."""
    kinds = []
    for kind, find_spans in _DETECTORS:
        spans = find_spans(text)
        if spans:
            kinds.append(kind)
            text = _replace(text, spans, f"[{kind.upper()}]")
    return Redaction(text=text, kinds=tuple(kinds))


def _replace(text: str, spans: list[Span], placeholder: str) -> str:
    for start, end in reversed(spans):
        text = text[:start] + placeholder + text[end:]
    return text


# --- emails -------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@(?:[\w-]+\.)+[^\W\d_]{2,}\b")


def _email_spans(text: str) -> list[Span]:
    return [match.span() for match in _EMAIL.finditer(text)]


# --- IBANs --------------------------------------------------------------------------------

# Country code, check digits, then the BBAN either unbroken or printed in groups of four.
# ASCII only: case-insensitive Unicode [A-Z] would also accept the Kelvin sign and friends.
_IBAN = re.compile(
    r"(?<!\w)[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?!\w)",
    re.IGNORECASE | re.ASCII,
)
_IBAN_MIN_CHARS, _IBAN_MAX_CHARS = 15, 34


def _iban_spans(text: str) -> list[Span]:
    spans = []
    for match in _IBAN.finditer(text):
        candidate = match.group()
        # A following four-letter word ("... 32 ABCD") can look like one more group; give
        # back trailing groups until the checksum holds or nothing plausible is left.
        while not _is_valid_iban(candidate) and " " in candidate:
            candidate = candidate.rsplit(" ", 1)[0]
        if _is_valid_iban(candidate):
            spans.append((match.start(), match.start() + len(candidate)))
    return spans


def _is_valid_iban(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not _IBAN_MIN_CHARS <= len(compact) <= _IBAN_MAX_CHARS:
        return False
    # ISO 13616: move the first four characters to the end, read letters as 10..35, and
    # the whole number must leave remainder 1 when divided by 97.
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


# --- digit runs shared by cards and phones ------------------------------------------------

_DIGITS = re.compile(r"\d+")
_MAX_SPAN_DIGITS = 19


def _best_spans(
    text: str, runs: re.Pattern[str], is_match: Callable[[str, int], bool]
) -> list[Span]:
    """Leftmost-longest spans within each run that start and end on a digit group.

    A run such as "4111 1111 1111 1111 12/26" or "020 7946 0958 07700 900123" holds more
    than one thing; trying the whole run only would miss the card or both phones.
    """
    spans = []
    for run in runs.finditer(text):
        groups = [
            (run.start() + digits.start(), run.start() + digits.end())
            for digits in _DIGITS.finditer(run.group())
        ]
        first = 0
        while first < len(groups):
            # The run's leading "+" or "(" belongs to the first group only.
            start = run.start() if first == 0 else groups[first][0]
            if first > 0 and text[start - 1] == "(":
                start -= 1
            longest = None
            digit_count = 0
            for last in range(first, len(groups)):
                digit_count += groups[last][1] - groups[last][0]
                if digit_count > _MAX_SPAN_DIGITS:
                    break
                if is_match(text[start : groups[last][1]], digit_count):
                    longest = last
            if longest is None:
                first += 1
            else:
                spans.append((start, groups[longest][1]))
                first = longest + 1
    return spans


# --- payment cards ------------------------------------------------------------------------

# Digit groups joined by single spaces or dashes, not glued to a word or a "+" (phone).
_CARD_RUN = re.compile(r"(?<![\w+])\d+(?:[ -]\d+)*")
# No card number starts with 0, and only the groupings printed on cards count: without
# both, the digits of two phone numbers in a row ("0958 07700 900123") can pass Luhn.
_CARD_SHAPE = re.compile(
    r"[1-9]\d{12,18}"  # unbroken
    r"|[1-9]\d{3}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?"  # in fours, e.g. Visa, Mastercard
    r"|[1-9]\d{3}[ -]\d{6}[ -]\d{4,5}"  # 4-6-5 (Amex) and 4-6-4 (Diners)
)


def _card_spans(text: str) -> list[Span]:
    return _best_spans(text, _CARD_RUN, _is_card_number)


def _is_card_number(candidate: str, digit_count: int) -> bool:
    if not 13 <= digit_count <= 19 or not _CARD_SHAPE.fullmatch(candidate):
        return False
    # Luhn: from the right, every second digit is doubled (digits of the product summed).
    digits = candidate.replace(" ", "").replace("-", "")
    total = sum(int(digit) for digit in digits[-1::-2])
    total += sum(_LUHN_DOUBLED[int(digit)] for digit in digits[-2::-2])
    return total % 10 == 0


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


# --- phones -------------------------------------------------------------------------------

# Digit groups joined by up to two of " .-()", e.g. "+44 (0)20 7946 0958" or "(555) 123-4567".
_PHONE_RUN = re.compile(r"(?<![\w+])\+?\(?\d+(?:[ .()-]{1,2}\d+)*")
_INTERNATIONAL = re.compile(r"(?:\+|00)[1-9][\d ().-]*")
_NATIONAL_TRUNK = re.compile(r"\(?0[1-9][\d ().-]*")
_NORTH_AMERICAN = re.compile(r"(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}")
# Dates are masked before phones are looked for: "05.03.2024 10:30" would otherwise read
# as the zero-led number 05 03 2024 10. The look-arounds keep "06.12.34.56.78" a phone.
_DATE = re.compile(
    r"(?<![\w.,/-])(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}([./-])\d{1,2}\1(?:\d{4}|\d{2}))"
    r"(?!\d|[./-]\d)"
)


def _phone_spans(text: str) -> list[Span]:
    # "_" is a word character, so no phone run can start or continue inside a mask.
    without_dates = _DATE.sub(lambda date: "_" * len(date.group()), text)
    return _best_spans(without_dates, _PHONE_RUN, _is_phone_number)


def _is_phone_number(candidate: str, digit_count: int) -> bool:
    if digit_count < 7:
        return False
    if _INTERNATIONAL.fullmatch(candidate):
        international_digits = digit_count - 2 if candidate.startswith("00") else digit_count
        return 8 <= international_digits <= 15
    if _NATIONAL_TRUNK.fullmatch(candidate):
        return 9 <= digit_count <= 12
    return _NORTH_AMERICAN.fullmatch(candidate) is not None


# Emails first: their local part may hold digits a phone would claim. IBANs before cards:
# an IBAN's digits can contain a Luhn-valid run. Cards before phones: a card number in
# groups would otherwise be read as a long phone number.
_DETECTORS: tuple[tuple[str, Callable[[str], list[Span]]], ...] = (
    ("email", _email_spans),
    ("iban", _iban_spans),
    ("card", _card_spans),
    ("phone", _phone_spans),
)
