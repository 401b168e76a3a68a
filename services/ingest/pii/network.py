"""IP addresses, v4 and v6, each checked by the standard library's ipaddress parser."""

import ipaddress
import re

from services.ingest.pii.digits import Span, cue_before

# Two to seven hex groups ending in ":" (a group may be empty, for "::"), then a last group
# or an embedded IPv4 address ("::ffff:192.0.2.128"). ipaddress decides what is valid.
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{1,4})?"
    r"(?![\w:]|\.\d)",
    re.IGNORECASE | re.ASCII,
)
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?!\w|\.\d)")
# "app version 1.2.3.4" is a version, not an address.
_VERSION_CUE = re.compile(r"\b(?:version|ver|build|release|firmware|fw|update)\b", re.IGNORECASE)


def ip_address_spans(text: str) -> list[Span]:
    spans = [match.span() for match in _IPV6.finditer(text) if _is_ipv6(match.group())]
    for match in _IPV4.finditer(text):
        inside_v6 = any(start <= match.start() < end for start, end in spans)
        if (
            not inside_v6
            and _is_ipv4(match.group())
            and not cue_before(_VERSION_CUE, text, match.start(), max_gap=3)
        ):
            spans.append(match.span())
    return sorted(spans)


def _is_ipv6(candidate: str) -> bool:
    # "::" and "::1" name no one's machine, and "a::b"-like text is rarely an address:
    # at least two groups must hold hex digits.
    if sum(1 for group in re.split(r"[:.]", candidate) if group) < 2:
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _is_ipv4(candidate: str) -> bool:
    try:
        ipaddress.IPv4Address(candidate)  # rejects octets over 255 and leading zeros
    except ValueError:
        return False
    return True
