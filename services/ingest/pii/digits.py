"""What the detectors share: digits of any script read as ASCII, spans within digit runs
(cards, phones) and cue words before a number (ids, passports, bank accounts, phones)."""

import re
import unicodedata
from collections.abc import Callable

Span = tuple[int, int]

# Any Unicode decimal digit (category Nd) that is not an ASCII one.
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")


def ascii_digits(text: str) -> str:
    """Replace each decimal digit of any script (Arabic-Indic, Devanagari, full-width, ...)
    with its ASCII digit.

    One character in, one character out, so a span found in the result is the same span in
    `text`: detectors search the result and redaction cuts the original.
    """
    if text.isascii():
        return text
    return _NON_ASCII_DIGIT.sub(lambda digit: str(unicodedata.decimal(digit.group())), text)


_DIGIT_GROUP = re.compile(r"\d+")
_MAX_SPAN_DIGITS = 19


def best_spans(
    text: str, runs: re.Pattern[str], is_match: Callable[[str, int], bool]
) -> list[Span]:
    """Leftmost-longest spans within each run that start and end on a digit group.

    A run such as "4111 1111 1111 1111 12/26" or "020 7946 0958 07700 900123" holds more
    than one thing; trying the whole run only would miss the card or both phones.
    `is_match` gets the candidate text and its number of digits.
    """
    spans = []
    for run in runs.finditer(text):
        groups = [
            (run.start() + digits.start(), run.start() + digits.end())
            for digits in _DIGIT_GROUP.finditer(run.group())
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


def cue_before(cue: re.Pattern[str], text: str, start: int, max_gap: int) -> bool:
    """Whether a match of `cue` ends at most `max_gap` characters before `start`, with no
    digit between them ("SSN: 536221234", "passport no. C01X00T47")."""
    before = text[max(0, start - max_gap - _LONGEST_CUE) : start]
    return any(
        len(before) - match.end() <= max_gap and not _HAS_DIGIT.search(before, match.end())
        for match in cue.finditer(before)
    )


_LONGEST_CUE = 40
_HAS_DIGIT = re.compile(r"\d")
