import json
from pathlib import Path
from typing import Any

import pytest

from services.ingest.pii import KINDS, redact


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",  # Visa test number
        "4111-1111-1111-1111",
        "4111111111111111",
        "5555 5555 5555 4444",  # Mastercard test number
        "3782 822463 10005",  # Amex test number, 4-6-5 grouping
        "6011111111111117",  # Discover test number
    ],
)
def test_luhn_valid_card_number_is_redacted(card: str) -> None:
    result = redact(f"I paid with {card} yesterday")
    assert result.text == "I paid with [CARD] yesterday"
    assert result.kinds == ("card",)


def test_luhn_invalid_digit_run_is_not_redacted_as_card() -> None:
    text = "my card 4111 1111 1111 1112 was declined"
    assert redact(text).text == text


def test_card_followed_by_expiry_and_cvv_keeps_them_separate() -> None:
    assert redact("4111 1111 1111 1111 12/26 cvv 123").text == "[CARD] 12/26 cvv 123"


def test_card_digits_followed_by_another_number_are_still_found() -> None:
    assert redact("4111 1111 1111 1111 99").text == "[CARD] 99"


def test_twenty_digit_reference_is_not_cut_into_a_card() -> None:
    text = "tracking 41111111111111110000"
    assert redact(text).text == text


@pytest.mark.parametrize(
    "iban",
    [
        "GB82 WEST 1234 5698 7654 32",
        "GB82WEST12345698765432",
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "de89 3704 0044 0532 0130 00",
        "NO93 8601 1117 947",  # the shortest IBAN length, 15
    ],
)
def test_mod97_valid_iban_is_redacted(iban: str) -> None:
    result = redact(f"please refund to {iban}, thanks")
    assert result.text == "please refund to [IBAN], thanks"
    assert result.kinds == ("iban",)


def test_iban_with_wrong_check_digits_is_not_redacted() -> None:
    text = "account GB83 WEST 1234 5698 7654 32"
    assert redact(text).text == text


def test_word_after_iban_is_not_swallowed_into_it() -> None:
    assert redact("ES91 2100 0418 4502 0005 1332 CASH").text == "[IBAN] CASH"


def test_iban_digits_are_not_reported_as_a_card() -> None:
    assert redact("DE89 3704 0044 0532 0130 00").kinds == ("iban",)


@pytest.mark.parametrize(
    "email", ["jane.doe@example.com", "j.doe+billing@mail.example.co.uk", "ana_42@exemplo.com.br"]
)
def test_email_address_is_redacted(email: str) -> None:
    result = redact(f"write to {email}.")
    assert result.text == "write to [EMAIL]."
    assert result.kinds == ("email",)


def test_digits_in_email_are_not_reported_as_phone() -> None:
    assert redact("tom.02079460958@example.com").kinds == ("email",)


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "+447700900123",
        "+1 (555) 123-4567",
        "+49 151 12345678",
        "+33 6 12 34 56 78",
        "0044 20 7946 0958",
        "020 7946 0958",
        "07700 900123",
        "030 1234567",
        "06 12 34 56 78",
        "06.12.34.56.78",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "1-800-555-0199",
    ],
)
def test_phone_number_is_redacted(phone: str) -> None:
    result = redact(f"call me on {phone} after 6")
    assert result.text == "call me on [PHONE] after 6"
    assert result.kinds == ("phone",)


def test_two_phone_numbers_in_a_row_are_both_redacted() -> None:
    assert redact("020 7946 0958 07700 900123").text == "[PHONE] [PHONE]"


def test_phone_right_after_a_date_is_redacted_and_date_kept() -> None:
    assert redact("on 05.03.2024 020 7946 0958").text == "on 05.03.2024 [PHONE]"


@pytest.mark.parametrize(
    "text",
    [
        "I was charged £25.00 twice",
        "refund of $1,299.99 please",
        "the total was 1.299,99 € and 12.500.000 points",
        "order #4521 for 2 items",
        "order 12345678 is late",
        "reference 0000123456",
        "delivered on 2024-01-15 10:30",
        "ordered on 05.03.2024 10:30 Uhr",
        "due 15/01/2024",
        "opening hours 9-17, 3 days",
        "version 3.14159",
    ],
)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert result.kinds == ()


def test_each_kind_is_reported_once_in_detection_order() -> None:
    result = redact(
        "call 07700 900123 or 020 7946 0958, card 4111 1111 1111 1111, "
        "mail jane@example.com, iban GB82 WEST 1234 5698 7654 32"
    )
    assert result.text == "call [PHONE] or [PHONE], card [CARD], mail [EMAIL], iban [IBAN]"
    assert result.kinds == ("email", "iban", "card", "phone")


def test_text_without_pii_is_returned_unchanged() -> None:
    result = redact("Thanks, the replacement arrived and works great!")
    assert result.text == "Thanks, the replacement arrived and works great!"
    assert result.kinds == ()


# --- the written PII corpus: every detector's positive and negative forms ------------------

_CORPUS = [
    json.loads(line)
    for line in (Path(__file__).parents[2] / "data" / "pii_corpus.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
]


@pytest.mark.parametrize(
    "record",
    [record for record in _CORPUS if record["pii"] and record["kind"] in KINDS],
    ids=lambda record: f"{record['kind']}:{record['text'][:40]}",
)
def test_corpus_pii_is_redacted_with_its_kind(record: dict[str, Any]) -> None:
    result = redact(record["text"])
    assert record["kind"] in result.kinds
    assert f"[{record['kind'].upper()}]" in result.text
    for item in record["pii"]:
        assert item not in result.text


@pytest.mark.parametrize(
    "record",
    [record for record in _CORPUS if not record["pii"]],
    ids=lambda record: f"{record['kind']}:{record['text'][:40]}",
)
def test_corpus_negative_form_is_left_alone(record: dict[str, Any]) -> None:
    result = redact(record["text"])
    assert result.text == record["text"]
    assert result.kinds == ()


def test_corpus_has_positive_and_negative_forms_for_every_detector() -> None:
    for kind in KINDS:
        forms = [record for record in _CORPUS if record["kind"] == kind]
        assert any(record["pii"] for record in forms), kind
        assert any(not record["pii"] for record in forms), kind


def _digits_in(text: str, zero: str) -> str:
    """`text` with its ASCII digits written in the script whose digit zero is `zero`."""
    return text.translate({ord("0") + i: ord(zero) + i for i in range(10)})


_ARABIC_INDIC, _DEVANAGARI, _FULL_WIDTH = "\u0660", "\u0966", "\uff10"


def test_non_ascii_digits_around_a_redaction_are_kept_as_written() -> None:
    amount = _digits_in("250", _ARABIC_INDIC)
    card = _digits_in("4111 1111 1111 1111", _ARABIC_INDIC)
    result = redact(f"amount {amount}, card {card}, thanks")
    assert result.text == f"amount {amount}, card [CARD], thanks"


@pytest.mark.parametrize("zero", [_ARABIC_INDIC, _DEVANAGARI, _FULL_WIDTH])
def test_card_in_any_script_is_redacted_without_normalization(zero: str) -> None:
    assert redact(_digits_in("4111 1111 1111 1111", zero)).text == "[CARD]"


def test_sort_code_and_account_are_both_redacted_and_words_kept() -> None:
    result = redact("sort code 40-47-84, account number 70872490")
    assert result.text == "sort code [BANK_ACCOUNT], account number [BANK_ACCOUNT]"


def test_date_of_birth_keeps_the_cue_and_other_dates() -> None:
    result = redact("DOB 12/04/1987, ordered on 05/03/2024")
    assert result.text == "DOB [DATE_OF_BIRTH], ordered on 05/03/2024"
    assert result.kinds == ("date_of_birth",)


def test_unbroken_north_american_number_needs_valid_area_and_exchange_codes() -> None:
    assert redact("call 2125551234").text == "call [PHONE]"
    assert redact("call 2121231234").text == "call 2121231234"  # exchange 123 is not issued
    assert redact("call 2115551234").text == "call 2115551234"  # 211 is a service code


def test_new_kinds_are_reported_in_detection_order() -> None:
    result = redact(
        "DOB 1987-04-12, SSN 536-22-1234, passport 925665416, from 203.0.113.45, "
        "mail jane@example.com, sort code 60-16-13 31926819"
    )
    assert result.kinds == (
        "email",
        "ip_address",
        "bank_account",
        "national_id",
        "passport",
        "date_of_birth",
    )
