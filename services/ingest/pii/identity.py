"""Identity numbers: US Social Security numbers, UK National Insurance numbers, passports."""

import re

from services.ingest.pii.digits import Span, cue_before

# --- national ids: US SSN and UK NINO -----------------------------------------------------

# "536-22-1234" is redacted as it stands; spaced, dotted or unbroken forms only after a cue,
# since nine digits alone are as often a reference.
_SSN = re.compile(r"(?<![\w.-])(\d{3})([ .-]?)(\d{2})\2(\d{4})(?!\w|[.-]\d)")
_SSN_CUE = re.compile(
    r"(?<!\w)(?:ssn|ss\s?#|ss\s?no|social\s+security(?:\s+(?:number|no|nr|#))?)(?!\w)",
    re.IGNORECASE,
)
# Never issued: the Woolworth wallet-card number and the 1962 advertising one.
_VOID_SSNS = frozenset({"078051120", "219099999"})

# Two prefix letters, three digit pairs, a suffix letter A-D ("JG 10 37 21 D"). Without a
# cue, letters must be upper case and the suffix present; with one, either may differ.
_NINO = re.compile(r"(?<!\w)([A-Za-z]{2}) ?(\d{2}) ?(\d{2}) ?(\d{2})(?: ?([A-Da-d]))?(?!\w)")
_NINO_CUE = re.compile(
    r"(?<!\w)(?:nino|ni|national\s+insurance)(?:\s+(?:number|no|nr|#))?(?!\w)", re.IGNORECASE
)
# HMRC: D, F, I, Q, U, V never appear; O never second; these pairs are not allocated.
_NINO_BAD_FIRST, _NINO_BAD_SECOND = frozenset("DFIQUV"), frozenset("DFIOQUV")
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_CUE_GAP = 20


def national_id_spans(text: str) -> list[Span]:
    spans = []
    for match in _SSN.finditer(text):
        dashed = match.group(2) == "-"
        if _is_valid_ssn(match.group(1), match.group(3), match.group(4)) and (
            dashed or cue_before(_SSN_CUE, text, match.start(), _CUE_GAP)
        ):
            spans.append(match.span())
    for match in _NINO.finditer(text):
        prefix, suffix = match.group(1), match.group(5)
        if not _is_valid_nino_prefix(prefix.upper()):
            continue
        as_printed = prefix.isupper() and suffix is not None and suffix.isupper()
        if as_printed or cue_before(_NINO_CUE, text, match.start(), _CUE_GAP):
            spans.append(match.span())
    return sorted(spans)


def _is_valid_ssn(area: str, group: str, serial: str) -> bool:
    # SSA: area 000, 666 and 900-999 are never assigned, nor group 00 or serial 0000.
    return (
        area not in ("000", "666")
        and not area.startswith("9")
        and group != "00"
        and serial != "0000"
        and area + group + serial not in _VOID_SSNS
    )


def _is_valid_nino_prefix(prefix: str) -> bool:
    return (
        prefix[0] not in _NINO_BAD_FIRST
        and prefix[1] not in _NINO_BAD_SECOND
        and prefix not in _NINO_BAD_PREFIXES
    )


# --- passports ----------------------------------------------------------------------------

# Passport numbers carry no check digit outside the machine-readable zone, so only a number
# right after the word "passport" counts ("passport no. C01X00T47", "my passport is
# 925665416"): 6 to 9 letters and digits with at least 3 digits. That covers the US and UK
# (9 digits, or a letter and 8 digits), Germany (9 of C-Z and digits), France (2 digits,
# 2 letters, 5 digits), India (a letter and 7 digits) and most ICAO document numbers.
_PASSPORT = re.compile(
    r"\bpassport(?:\s*(?:number|num|no|nr|n°|id|is|was|#|:|\.|-))*\s*"
    r"(?P<number>[A-Za-z0-9]{6,9})(?!\w)",
    re.IGNORECASE,
)
_PASSPORT_MIN_DIGITS = 3


def passport_spans(text: str) -> list[Span]:
    return [
        match.span("number")
        for match in _PASSPORT.finditer(text)
        if sum(char.isdigit() for char in match.group("number")) >= _PASSPORT_MIN_DIGITS
    ]
