"""PII redaction: each piece of personal data found becomes a placeholder such as `[CARD]`.

Detection favours shapes, checksums and cue words over bare digit counts, so a support
message keeps its amounts, dates and order numbers. Digits of every script (Arabic-Indic,
Devanagari, full-width, ...) are read as ASCII digits before matching; the text around a
redaction keeps its own digits. What is covered, by placeholder:

- `[EMAIL]`: addresses with an @ and a dotted domain.
- `[IP_ADDRESS]`: IPv4 and IPv6 (also embedded IPv4, in brackets), as parsed by `ipaddress`.
  Not after "version"/"build"/"firmware" (version numbers); "::" and "::1" are kept.
- `[IBAN]`: unbroken or in groups of four separated by spaces, dashes or dots; mod-97 checked.
  The country's own length is not checked.
- `[CARD]`: 13-19 digits passing Luhn, unbroken or grouped as printed on cards (fours; 4-6-5,
  4-6-4) with spaces (up to three), dots, dashes or slashes between groups. About one in ten
  unbroken 13-19 digit references not starting with 0 passes Luhn by chance and goes too.
- `[BANK_ACCOUNT]`: a UK sort code and an 8-digit account number found together, the sort
  code after a "sort code" cue or directly followed by the account ("60-16-13 31926819").
  No checksum (the banks' modulus tables are not public data); a sort code alone is kept.
- `[NATIONAL_ID]`: US SSNs that the SSA could issue (area not 000, 666 or 9xx; group not
  00; serial not 0000; two famous void numbers) written 3-2-4 with dashes, or spaced, dotted
  or unbroken after an "SSN"/"social security" cue; UK NINOs with a valid prefix, in upper
  case with their A-D suffix, or in any case and without the suffix after an "NI"/"NINO"/
  "national insurance" cue. Other countries' ids are not recognized.
- `[PASSPORT]`: 6-9 letters and digits, at least 3 of them digits, right after the word
  "passport" (and "no.", "number", "#", "is", ...). Without the cue, none.
- `[DATE_OF_BIRTH]`: a valid date (ISO, day/month/year either order, "12 April 1987",
  "April 12, 1987", year optional) within 25 digit-free characters after "DOB", "date of
  birth", "birth date", "birthday", "born" or "geb."/"geboren". Other dates are kept.
- `[PHONE]`: international (+CC or 00CC, 8-15 digits), national with a trunk zero (0xx...,
  9-12 digits, also "030/1234567"), North American 3-3-4 with separators, and unbroken North
  American numbers with valid area and exchange codes ("2125551234", "12125551234") unless
  an order/reference/tracking word or "#" stands just before. Zero-led references of 9+
  digits are redacted.

Not covered: person names and street addresses (no offline library met the bar: see
benchmarks/pii/README.md), postcodes, other countries' ids and phone formats, unbroken
international numbers without + or 00, and anything spelled out in words ("jane at example
dot com", "five five five ...").
"""

from collections.abc import Callable
from dataclasses import dataclass

from services.ingest.pii.bank import bank_account_spans, iban_spans
from services.ingest.pii.cards import card_spans
from services.ingest.pii.dates import date_of_birth_spans
from services.ingest.pii.digits import Span, ascii_digits
from services.ingest.pii.emails import email_spans
from services.ingest.pii.identity import national_id_spans, passport_spans
from services.ingest.pii.network import ip_address_spans
from services.ingest.pii.phones import phone_spans


@dataclass(frozen=True)
class Redaction:
    """The redacted text and the kinds of PII found, each once, in detection order."""

    text: str
    kinds: tuple[str, ...]


def redact(text: str) -> Redaction:
    """Replace every piece of PII found with `[EMAIL]`, `[IBAN]`, `[CARD]`, `[PHONE]`, ..."""
    kinds = []
    # Same length as `text`, so spans found in it cut `text` at the same places.
    searched = ascii_digits(text)
    for kind, find_spans in _DETECTORS:
        spans = find_spans(searched)
        if spans:
            kinds.append(kind)
            placeholder = f"[{kind.upper()}]"
            text = _replace(text, spans, placeholder)
            searched = _replace(searched, spans, placeholder)
    return Redaction(text=text, kinds=tuple(kinds))


def _replace(text: str, spans: list[Span], placeholder: str) -> str:
    for start, end in reversed(spans):
        text = text[:start] + placeholder + text[end:]
    return text


# Emails first: their local part may hold digits a phone would claim. IP addresses next: an
# IPv6 group or an IPv4 octet run could otherwise start another number. IBANs before cards:
# an IBAN's digits can contain a Luhn-valid run. Cards before the cue-led numbers (bank
# accounts, ids, passports, dates of birth): those are shorter and could cut into a card.
# Phones last: a card number, an SSN or a sort code in groups would otherwise read as one.
_DETECTORS: tuple[tuple[str, Callable[[str], list[Span]]], ...] = (
    ("email", email_spans),
    ("ip_address", ip_address_spans),
    ("iban", iban_spans),
    ("card", card_spans),
    ("bank_account", bank_account_spans),
    ("national_id", national_id_spans),
    ("passport", passport_spans),
    ("date_of_birth", date_of_birth_spans),
    ("phone", phone_spans),
)
# Every kind redact() can report, in detection order.
KINDS: tuple[str, ...] = tuple(kind for kind, _ in _DETECTORS)
