from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.ingest.dedup import ClaimState, DuplicateWindow
from services.ingest.errors import InvalidMessage
from services.ingest.pipeline import IncomingMessage, IngestPipeline, PreparedMessage

RECEIVED_AT = datetime(2024, 3, 15, 9, 30, 5, tzinfo=UTC)


def make_pipeline(
    max_text_chars: int = 4000, dedup: DuplicateWindow | None = None
) -> IngestPipeline:
    return IngestPipeline(
        dedup or DuplicateWindow(window_s=600, max_entries=1000),
        max_text_chars=max_text_chars,
        clock=lambda: RECEIVED_AT,
    )


def message(**overrides: object) -> IncomingMessage:
    fields: dict[str, object] = {
        "caller": "client-a",
        "conversation_id": "conv-20240315-0042",
        "customer_id": "cust-88121",
        "text": "Hi,\nplease call me on 07700 900123 about my refund.",
        **overrides,
    }
    return IncomingMessage(**fields)  # type: ignore[arg-type]


def publish(dedup: DuplicateWindow, prepared: PreparedMessage) -> None:
    """What the servicer does once the broker acknowledged the message."""
    assert prepared.claim is not None and prepared.claim.state is ClaimState.OWNED
    dedup.settle(prepared.claim, published=True)


def test_message_is_normalized_redacted_and_stamped() -> None:
    prepared = make_pipeline().prepare(message())
    assert prepared.text == "Hi, please call me on [PHONE] about my refund."
    assert prepared.redactions == ("phone",)
    assert prepared.received_at == RECEIVED_AT
    assert prepared.channel == "chat"
    assert prepared.source == "api"
    assert prepared.duplicate is False


def test_empty_channel_and_source_fall_back_to_defaults() -> None:
    prepared = make_pipeline().prepare(message(channel="", source=""))
    assert (prepared.channel, prepared.source) == ("chat", "api")


def test_pii_hidden_behind_full_width_digits_is_still_redacted() -> None:
    full_width_card = "".join(chr(ord(digit) + 0xFEE0) for digit in "4111111111111111")
    prepared = make_pipeline().prepare(message(text=f"card {full_width_card}"))
    assert prepared.text == "card [CARD]"


def test_retry_of_a_published_external_id_is_a_duplicate_with_the_same_id() -> None:
    dedup = DuplicateWindow(window_s=600, max_entries=1000)
    pipeline = make_pipeline(dedup=dedup)
    first = pipeline.prepare(message(source="zendesk", external_id="ticket-1"))
    publish(dedup, first)
    retry = pipeline.prepare(message(source="zendesk", external_id="ticket-1"))
    assert retry.message_id == first.message_id
    assert (first.duplicate, retry.duplicate) == (False, True)
    assert not retry.owned


def test_retry_while_the_first_is_unpublished_is_not_yet_a_duplicate() -> None:
    pipeline = make_pipeline()
    first = pipeline.prepare(message(source="zendesk", external_id="ticket-1"))
    retry = pipeline.prepare(message(source="zendesk", external_id="ticket-1"))
    assert retry.message_id == first.message_id
    assert retry.claim is not None and retry.claim.state is ClaimState.PENDING
    assert not retry.duplicate and not retry.owned


def test_another_callers_external_id_never_shadows_a_message() -> None:
    dedup = DuplicateWindow(window_s=600, max_entries=1000)
    pipeline = make_pipeline(dedup=dedup)
    mine = pipeline.prepare(message(source="zendesk", external_id="ticket-1"))
    publish(dedup, mine)
    theirs = pipeline.prepare(message(caller="client-b", source="zendesk", external_id="ticket-1"))
    assert theirs.owned and not theirs.duplicate
    assert theirs.message_id != mine.message_id


def test_idempotency_key_names_a_message_without_external_id() -> None:
    dedup = DuplicateWindow(window_s=600, max_entries=1000)
    pipeline = make_pipeline(dedup=dedup)
    first = pipeline.prepare(message(idempotency_key="req-1"))
    publish(dedup, first)
    retry = pipeline.prepare(message(idempotency_key="req-1"))
    assert (retry.message_id, retry.duplicate) == (first.message_id, True)
    other_caller = pipeline.prepare(message(caller="client-b", idempotency_key="req-1"))
    assert other_caller.owned and other_caller.message_id != first.message_id


def test_batch_items_under_one_idempotency_key_get_an_id_each() -> None:
    pipeline = make_pipeline()
    ids = {
        pipeline.prepare(message(idempotency_key="req-1", batch_index=index)).message_id
        for index in range(3)
    }
    assert len(ids) == 3


def test_external_id_names_the_message_even_under_an_idempotency_key() -> None:
    dedup = DuplicateWindow(window_s=600, max_entries=1000)
    pipeline = make_pipeline(dedup=dedup)
    first = pipeline.prepare(message(external_id="t-1", idempotency_key="req-1", batch_index=0))
    publish(dedup, first)
    later = pipeline.prepare(message(external_id="t-1", idempotency_key="req-2", batch_index=4))
    assert (later.message_id, later.duplicate) == (first.message_id, True)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"caller": ""}, "caller: is required"),
        ({"idempotency_key": "x" * 256}, "idempotency_key: is longer than 255"),
        ({"idempotency_key": "caf\u00e9"}, "idempotency_key: must contain only printable ASCII"),
        ({"idempotency_key": "a\nb"}, "idempotency_key: must contain only printable ASCII"),
    ],
)
def test_caller_and_idempotency_key_are_validated(overrides: dict[str, object], error: str) -> None:
    with pytest.raises(InvalidMessage, match=error):
        make_pipeline().prepare(message(**overrides))


def test_retry_after_restart_keeps_the_message_id_but_is_not_flagged() -> None:
    first = make_pipeline().prepare(message(source="zendesk", external_id="ticket-1"))
    after_restart = make_pipeline().prepare(message(source="zendesk", external_id="ticket-1"))
    assert after_restart.message_id == first.message_id
    assert after_restart.duplicate is False and after_restart.owned


def test_messages_without_external_id_are_never_duplicates() -> None:
    pipeline = make_pipeline()
    first, second = pipeline.prepare(message()), pipeline.prepare(message())
    assert first.message_id != second.message_id
    assert not first.duplicate and not second.duplicate
    assert first.claim is None and first.owned


def test_empty_external_id_is_treated_as_absent() -> None:
    prepared = make_pipeline().prepare(message(external_id=""))
    assert prepared.external_id is None


def test_sent_at_is_converted_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    prepared = make_pipeline().prepare(message(sent_at=datetime(2024, 3, 15, 10, 30, tzinfo=paris)))
    assert prepared.sent_at == datetime(2024, 3, 15, 9, 30, tzinfo=UTC)
    assert prepared.sent_at is not None and prepared.sent_at.tzinfo == UTC


def test_invalid_message_is_rejected_before_it_is_remembered() -> None:
    pipeline = make_pipeline(max_text_chars=10)
    with pytest.raises(InvalidMessage, match="text: is longer than 10"):
        pipeline.prepare(message(text="far too long a message", external_id="ticket-1"))
    assert pipeline.prepare(message(text="short", external_id="ticket-1")).owned
