from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from services.ingest.errors import InvalidMessage
from services.ingest.normalize import normalize_text, validate

# A valid request; each test overrides the one field it is about.
validate_request = partial(
    validate,
    caller="client-a",
    conversation_id="conv-20240315-0042",
    customer_id="cust-88121",
    text="Hi, my parcel hasn't arrived yet.",
    channel="chat",
    source="api",
)


def full_width(text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) if char.isalnum() else char for char in text)


def test_newlines_tabs_and_runs_of_spaces_become_single_spaces() -> None:
    assert normalize_text("  Hello,\n\n\tmy order\r\nis   late  ") == "Hello, my order is late"


def test_full_width_digits_and_ligatures_are_folded_to_plain_forms() -> None:
    assert normalize_text(full_width("order 123") + " is \ufb01ne") == "order 123 is fine"


def test_non_breaking_spaces_count_as_whitespace() -> None:
    assert normalize_text("total\u00a0due\u202f£25") == "total due £25"


def test_control_and_zero_width_characters_are_removed() -> None:
    assert normalize_text("ref\x00\x07 4111\u200b1111\ufeff") == "ref 41111111"


def test_emoji_joiner_sequences_survive_normalization() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert normalize_text(f"thanks {family}") == f"thanks {family}"


def test_valid_request_returns_normalized_text() -> None:
    assert validate_request(text="  where is\nmy refund? ") == "where is my refund?"


@pytest.mark.parametrize("field", ["caller", "conversation_id", "customer_id", "source"])
def test_missing_id_is_rejected_with_field_name(field: str) -> None:
    with pytest.raises(InvalidMessage) as error:
        blank: dict[str, Any] = {field: "  "}
        validate_request(**blank)
    assert error.value.field == field
    assert str(error.value) == f"{field}: is required"


def test_id_longer_than_128_characters_is_rejected() -> None:
    with pytest.raises(InvalidMessage, match=r"customer_id: is longer than 128"):
        validate_request(customer_id="c" * 129)


def test_id_of_exactly_128_characters_is_accepted() -> None:
    validate_request(customer_id="c" * 128)


def test_id_with_control_character_is_rejected() -> None:
    with pytest.raises(InvalidMessage, match="conversation_id: must contain only printable"):
        validate_request(conversation_id="conv\n42")


def test_id_with_surrounding_whitespace_is_rejected() -> None:
    with pytest.raises(InvalidMessage, match="must not start or end with whitespace"):
        validate_request(conversation_id="conv-42 ")


def test_overlong_external_id_is_rejected() -> None:
    with pytest.raises(InvalidMessage) as error:
        validate_request(external_id="x" * 500)
    assert error.value.field == "external_id"


def test_text_of_only_whitespace_and_controls_is_rejected() -> None:
    with pytest.raises(InvalidMessage, match="text: is empty"):
        validate_request(text=" \n\t\u200b\x00 ")


def test_text_over_the_configured_limit_is_rejected() -> None:
    with pytest.raises(InvalidMessage, match="text: is longer than 10 characters"):
        validate_request(text="a" * 11, max_text_chars=10)


def test_text_limit_applies_after_whitespace_is_collapsed() -> None:
    assert validate_request(text="a" + " " * 10 + "b", max_text_chars=3) == "a b"


def test_text_over_default_limit_of_4000_is_rejected() -> None:
    validate_request(text="a" * 4000)
    with pytest.raises(InvalidMessage):
        validate_request(text="a" * 4001)


def test_unknown_channel_is_rejected_listing_the_allowed_ones() -> None:
    with pytest.raises(InvalidMessage) as error:
        validate_request(channel="fax")
    assert str(error.value) == "channel: must be one of app, chat, email, social"


def test_sent_at_without_time_zone_is_rejected() -> None:
    with pytest.raises(InvalidMessage, match="sent_at: must include a time zone"):
        validate_request(sent_at=datetime(2024, 3, 15, 9, 30))


def test_sent_at_with_time_zone_is_accepted() -> None:
    validate_request(sent_at=datetime(2024, 3, 15, 9, 30, tzinfo=UTC))


def test_invalid_message_is_a_value_error() -> None:
    assert issubclass(InvalidMessage, ValueError)


def test_text_far_over_the_limit_is_refused_before_it_is_normalized(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(_text: str) -> str:
        raise AssertionError("normalized a text that should have been refused as sent")

    monkeypatch.setattr("services.ingest.normalize.normalize_text", fail)
    # U+FDFA expands to 18 characters under NFKC: the raw bound keeps that work bounded.
    with pytest.raises(InvalidMessage, match="text: is longer than 40 characters as sent"):
        validate_request(text="\ufdfa" * 41, max_text_chars=10)
