"""How `make abuse` recognizes a string that must not be in telemetry or on Kafka."""

import json

from reliability.abuse.leak_search import Haystack, find, spellings


def _found(needle: str, text: str) -> bool:
    return bool(find({"n": spellings(needle)}, [Haystack("h", text)]))


def test_a_number_is_found_alone_but_not_inside_a_longer_number() -> None:
    assert _found("4111111111111111", "paid with 4111111111111111 today")
    assert not _found("4111111111111111", "tracking 41111111111111110000")


def test_non_ascii_digits_are_found_as_ingest_rewrites_them() -> None:
    # Full-width digits become ASCII under NFKC; Arabic-Indic ones are read as ASCII too.
    full_width = "\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11"
    arabic_indic = "\u0664\u0661\u0661\u0661 \u0661\u0661\u0661\u0661"

    assert _found(full_width, "card 4111 1111 please")
    assert _found(arabic_indic, "card 4111 1111 please")


def test_strings_are_found_in_json_lines_that_escape_non_ascii() -> None:
    line = json.dumps({"msg": "update the name to Henrik Sørensen"})

    assert "Sørensen" not in line
    assert _found("Henrik Sørensen", line)


def test_collapsed_whitespace_still_matches() -> None:
    assert _found("4111  1111  1111", "text 4111 1111 1111 end")
