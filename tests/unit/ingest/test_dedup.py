import threading
import uuid

import pytest

from services.ingest.dedup import ClaimState, DuplicateWindow, MessageKey, message_id_for

TICKET_1 = MessageKey.from_source("client-a", "zendesk", "ticket-1")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def window(max_entries: int = 10, clock: FakeClock | None = None) -> DuplicateWindow:
    return DuplicateWindow(window_s=60, max_entries=max_entries, clock=clock or FakeClock())


def ticket(n: int) -> MessageKey:
    return MessageKey.from_source("client-a", "zendesk", f"ticket-{n}")


def test_first_sighting_is_owned_by_its_caller() -> None:
    claim = window().claim(TICKET_1, "id-1")
    assert (claim.state, claim.message_id) == (ClaimState.OWNED, "id-1")


def test_repeat_of_a_published_key_is_committed_with_the_earlier_message_id() -> None:
    dedup = window()
    dedup.settle(dedup.claim(TICKET_1, "id-1"), published=True)
    retry = dedup.claim(TICKET_1, "id-2")
    assert (retry.state, retry.message_id) == (ClaimState.COMMITTED, "id-1")


def test_repeat_while_the_first_is_unpublished_is_pending_not_a_duplicate() -> None:
    dedup = window()
    dedup.claim(TICKET_1, "id-1")
    retry = dedup.claim(TICKET_1, "id-1")
    assert retry.state is ClaimState.PENDING
    assert retry.wait_published(timeout_s=0.01) is None


def test_pending_retry_learns_when_the_owner_published() -> None:
    dedup = window()
    owner = dedup.claim(TICKET_1, "id-1")
    retry = dedup.claim(TICKET_1, "id-1")
    threading.Timer(0.05, lambda: dedup.settle(owner, published=True)).start()
    assert retry.wait_published(timeout_s=5) is True
    assert dedup.claim(TICKET_1, "id-1").state is ClaimState.COMMITTED


def test_failed_publish_releases_the_key_so_the_retry_publishes() -> None:
    dedup = window()
    owner = dedup.claim(TICKET_1, "id-1")
    waiting = dedup.claim(TICKET_1, "id-1")
    dedup.settle(owner, published=False)
    assert waiting.wait_published(timeout_s=1) is False
    assert dedup.claim(TICKET_1, "id-1").state is ClaimState.OWNED


def test_only_the_owner_settles_a_claim() -> None:
    dedup = window()
    dedup.claim(TICKET_1, "id-1")
    with pytest.raises(ValueError, match="owner"):
        dedup.settle(dedup.claim(TICKET_1, "id-1"), published=False)


def test_same_external_id_from_another_caller_is_its_own_message() -> None:
    dedup = window()
    dedup.settle(dedup.claim(TICKET_1, "id-1"), published=True)
    other = MessageKey.from_source("client-b", "zendesk", "ticket-1")
    assert dedup.claim(other, "id-2").state is ClaimState.OWNED


def test_same_external_id_from_another_source_is_not_a_duplicate() -> None:
    dedup = window()
    dedup.settle(dedup.claim(TICKET_1, "id-1"), published=True)
    other = MessageKey.from_source("client-a", "intercom", "ticket-1")
    assert dedup.claim(other, "id-2").state is ClaimState.OWNED


def test_repeat_after_window_expires_is_not_a_duplicate() -> None:
    clock = FakeClock()
    dedup = window(clock=clock)
    dedup.settle(dedup.claim(TICKET_1, "id-1"), published=True)
    clock.now += 59.9
    assert dedup.claim(TICKET_1, "id-2").state is ClaimState.COMMITTED
    clock.now += 0.1
    assert dedup.claim(TICKET_1, "id-3").state is ClaimState.OWNED


def test_duplicates_do_not_extend_the_window() -> None:
    clock = FakeClock()
    dedup = window(clock=clock)
    dedup.settle(dedup.claim(TICKET_1, "id-1"), published=True)
    clock.now += 30
    dedup.claim(TICKET_1, "id-1")
    clock.now += 30
    assert dedup.claim(TICKET_1, "id-2").state is ClaimState.OWNED


def test_expired_entries_are_forgotten() -> None:
    clock = FakeClock()
    dedup = window(clock=clock)
    for n in range(5):
        dedup.claim(ticket(n), f"id-{n}")
    clock.now += 61
    dedup.claim(ticket(99), "id-new")
    assert len(dedup) == 1


def test_memory_is_bounded_by_evicting_the_oldest_entry() -> None:
    dedup = window(max_entries=3)
    for n in range(4):
        dedup.settle(dedup.claim(ticket(n), f"id-{n}"), published=True)
    assert len(dedup) == 3
    assert dedup.claim(ticket(3), "again").message_id == "id-3"
    assert dedup.claim(ticket(0), "again").state is ClaimState.OWNED


def test_settling_an_evicted_claim_wakes_its_waiters_and_spares_the_new_owner() -> None:
    dedup = window(max_entries=1)
    first = dedup.claim(ticket(1), "id-1")
    waiting = dedup.claim(ticket(1), "id-1")
    dedup.claim(ticket(2), "id-2")  # evicts ticket-1 while it is still pending
    second = dedup.claim(ticket(1), "id-1")  # a retry owns it anew
    dedup.settle(first, published=False)
    assert waiting.wait_published(timeout_s=1) is False
    assert second.state is ClaimState.OWNED
    assert dedup.claim(ticket(1), "id-1").state is ClaimState.PENDING


def test_concurrent_repeats_yield_exactly_one_owner() -> None:
    dedup = DuplicateWindow(window_s=60, max_entries=100)
    states: list[ClaimState] = []
    start = threading.Barrier(8)

    def ingest(n: int) -> None:
        start.wait()
        states.append(dedup.claim(TICKET_1, f"id-{n}").state)

    threads = [threading.Thread(target=ingest, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert states.count(ClaimState.OWNED) == 1


@pytest.mark.parametrize(("window_s", "max_entries"), [(0, 10), (60, 0)])
def test_nonsensical_limits_are_rejected(window_s: float, max_entries: int) -> None:
    with pytest.raises(ValueError):
        DuplicateWindow(window_s=window_s, max_entries=max_entries)


def test_retry_with_same_key_returns_same_message_id() -> None:
    again = MessageKey.from_source("client-a", "zendesk", "ticket-1")
    assert message_id_for(TICKET_1) == message_id_for(again)


def test_message_id_with_a_key_is_a_uuid5() -> None:
    assert uuid.UUID(message_id_for(TICKET_1)).version == 5


def test_every_part_of_the_key_changes_the_message_id() -> None:
    ids = {
        message_id_for(TICKET_1),
        message_id_for(MessageKey.from_source("client-b", "zendesk", "ticket-1")),
        message_id_for(MessageKey.from_source("client-a", "zendesk", "ticket-2")),
        message_id_for(MessageKey.from_source("client-a", "intercom", "ticket-1")),
        message_id_for(MessageKey.from_source("client-a", "a:b", "c")),
        message_id_for(MessageKey.from_source("client-a", "a", "b:c")),
        message_id_for(MessageKey.from_idempotency_key("client-a", "ticket-1")),
        message_id_for(MessageKey.from_idempotency_key("client-b", "ticket-1")),
        message_id_for(MessageKey.from_idempotency_key("client-a", "ticket-1", 0)),
        message_id_for(MessageKey.from_idempotency_key("client-a", "ticket-1", 1)),
    }
    assert len(ids) == 10


def test_message_without_a_key_gets_a_fresh_random_id() -> None:
    first, second = message_id_for(None), message_id_for(None)
    assert first != second
    assert uuid.UUID(first).version == 4
