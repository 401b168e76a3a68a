import pytest

from services.ingest.pii import redact


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
