"""Payment card numbers: card-like groupings that pass the Luhn check."""

import re

from services.ingest.pii.digits import Span, best_spans

# Digit groups joined by a separator, not glued to a word or a "+" (phone). A separator is
# one to three spaces, or a dot, dash or slash with up to two spaces each side:
# "4111 1111 1111 1111", "4111.1111.1111.1111", "4111  1111 / 1111-1111".
_GAP = r"(?: {1,3}| {0,2}[./-] {0,2})"
_CARD_RUN = re.compile(rf"(?<![\w+])\d+(?:{_GAP}\d+)*")
# No card number starts with 0, and only the groupings printed on cards count: without
# both, the digits of two phone numbers in a row ("0958 07700 900123") can pass Luhn.
_CARD_SHAPE = re.compile(
    r"[1-9]\d{12,18}"  # unbroken
    rf"|[1-9]\d{{3}}(?:{_GAP}\d{{4}}){{2,3}}(?:{_GAP}\d{{1,4}})?"  # in fours: Visa, Mastercard
    rf"|[1-9]\d{{3}}{_GAP}\d{{6}}{_GAP}\d{{4,5}}"  # 4-6-5 (Amex) and 4-6-4 (Diners)
)
_NOT_DIGIT = re.compile(r"\D")


def card_spans(text: str) -> list[Span]:
    return best_spans(text, _CARD_RUN, _is_card_number)


def _is_card_number(candidate: str, digit_count: int) -> bool:
    if not 13 <= digit_count <= 19 or not _CARD_SHAPE.fullmatch(candidate):
        return False
    # Luhn: from the right, every second digit is doubled (digits of the product summed).
    digits = _NOT_DIGIT.sub("", candidate)
    total = sum(int(digit) for digit in digits[-1::-2])
    total += sum(_LUHN_DOUBLED[int(digit)] for digit in digits[-2::-2])
    return total % 10 == 0


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
