"""Bank accounts: IBANs (mod-97 checked) and UK sort code + account number pairs."""

import re

from services.ingest.pii.digits import Span, cue_before

# --- IBANs --------------------------------------------------------------------------------

# Country code, check digits, then the BBAN either unbroken or printed in groups of four,
# separated by a space, a dash or a dot.
# ASCII only: case-insensitive Unicode [A-Z] would also accept the Kelvin sign and friends.
_IBAN = re.compile(
    r"(?<!\w)[A-Z]{2}\d{2}(?:[ .-]?[A-Z0-9]{4}){2,7}(?:[ .-]?[A-Z0-9]{1,4})?(?!\w)",
    re.IGNORECASE | re.ASCII,
)
_LAST_GROUP = re.compile(r"[ .-][A-Z0-9]+$", re.IGNORECASE | re.ASCII)
_SEPARATORS = re.compile(r"[ .-]")
_IBAN_MIN_CHARS, _IBAN_MAX_CHARS = 15, 34


def iban_spans(text: str) -> list[Span]:
    spans = []
    for match in _IBAN.finditer(text):
        candidate = match.group()
        # A following four-letter word ("... 32 ABCD") can look like one more group; give
        # back trailing groups until the checksum holds or nothing plausible is left.
        while not _is_valid_iban(candidate) and _LAST_GROUP.search(candidate):
            candidate = _LAST_GROUP.sub("", candidate)
        if _is_valid_iban(candidate):
            spans.append((match.start(), match.start() + len(candidate)))
    return spans


def _is_valid_iban(candidate: str) -> bool:
    compact = _SEPARATORS.sub("", candidate).upper()
    if not _IBAN_MIN_CHARS <= len(compact) <= _IBAN_MAX_CHARS:
        return False
    # ISO 13616: move the first four characters to the end, read letters as 10..35, and
    # the whole number must leave remainder 1 when divided by 97.
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


# --- UK sort code + account number ---------------------------------------------------------

# UK account numbers carry no checksum that can be checked without the banks' modulus tables,
# and six digits alone are often a date ("12-05-24"), so only a pair counts: a sort code with
# a cue before it or an account number right after it, and an 8-digit account number within
# a few words after it or before it. A sort code alone names a branch, not a person: kept.
_SORT_CODE = re.compile(r"(?<![\w.,/-])\d{2}([ -]?)\d{2}\1\d{2}(?!\w|[.,/-]\d)")
_ACCOUNT_NUMBER = re.compile(r"(?<![\w.,/-])\d{8}(?!\w|[.,/-]\d)")
_SORT_CODE_CUE = re.compile(r"\b(?:sort[ -]?code|sort|s/c)\b", re.IGNORECASE)
_DIRECT_GAP = re.compile(r"[ ,;/]{1,3}")
_PAIR_GAP = 40
_HAS_DIGIT = re.compile(r"\d")


def bank_account_spans(text: str) -> list[Span]:
    accounts = [match.span() for match in _ACCOUNT_NUMBER.finditer(text)]
    spans: set[Span] = set()
    for code in _SORT_CODE.finditer(text):
        account = _account_after(text, code.end(), accounts)
        directly_followed = (
            code.group(1) != ""  # "60-16-13 31926819"; unbroken, "601613" needs the cue
            and account is not None
            and _DIRECT_GAP.fullmatch(text[code.end() : account[0]]) is not None
        )
        if not directly_followed and not cue_before(_SORT_CODE_CUE, text, code.start(), 20):
            continue
        account = account or _account_before(text, code.start(), accounts)
        if account is not None:
            spans.update((code.span(), account))
    return sorted(spans)


def _account_after(text: str, position: int, accounts: list[Span]) -> Span | None:
    for start, end in accounts:
        if position <= start <= position + _PAIR_GAP:
            return None if _HAS_DIGIT.search(text, position, start) else (start, end)
    return None


def _account_before(text: str, position: int, accounts: list[Span]) -> Span | None:
    for start, end in reversed(accounts):
        if position - _PAIR_GAP <= end <= position:
            return None if _HAS_DIGIT.search(text, end, position) else (start, end)
    return None
