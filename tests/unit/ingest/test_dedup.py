import threading
import uuid

import pytest

from services.ingest.dedup import DuplicateWindow, message_id_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_first_sighting_is_not_a_duplicate() -> None:
    window = DuplicateWindow(window_s=60, max_entries=10, clock=FakeClock())
    assert window.seen_or_remember("zendesk", "ticket-1", "id-1") is None


def test_repeat_within_window_returns_the_earlier_message_id() -> None:
    window = DuplicateWindow(window_s=60, max_entries=10, clock=FakeClock())
    window.seen_or_remember("zendesk", "ticket-1", "id-1")
    assert window.seen_or_remember("zendesk", "ticket-1", "id-2") == "id-1"


def test_same_external_id_from_another_source_is_not_a_duplicate() -> None:
    window = DuplicateWindow(window_s=60, max_entries=10, clock=FakeClock())
    window.seen_or_remember("zendesk", "42", "id-1")
    assert window.seen_or_remember("intercom", "42", "id-2") is None


def test_repeat_after_window_expires_is_not_a_duplicate() -> None:
    clock = FakeClock()
    window = DuplicateWindow(window_s=60, max_entries=10, clock=clock)
    window.seen_or_remember("zendesk", "ticket-1", "id-1")
    clock.now += 59.9
    assert window.seen_or_remember("zendesk", "ticket-1", "id-2") == "id-1"
    clock.now += 0.1
    assert window.seen_or_remember("zendesk", "ticket-1", "id-3") is None


def test_duplicates_do_not_extend_the_window() -> None:
    clock = FakeClock()
    window = DuplicateWindow(window_s=60, max_entries=10, clock=clock)
    window.seen_or_remember("zendesk", "ticket-1", "id-1")
    clock.now += 30
    window.seen_or_remember("zendesk", "ticket-1", "id-1")
    clock.now += 30
    assert window.seen_or_remember("zendesk", "ticket-1", "id-2") is None


def test_expired_entries_are_forgotten() -> None:
    clock = FakeClock()
    window = DuplicateWindow(window_s=60, max_entries=10, clock=clock)
    for n in range(5):
        window.seen_or_remember("zendesk", f"ticket-{n}", f"id-{n}")
    clock.now += 61
    window.seen_or_remember("zendesk", "ticket-new", "id-new")
    assert len(window) == 1


def test_memory_is_bounded_by_evicting_the_oldest_entry() -> None:
    window = DuplicateWindow(window_s=60, max_entries=3, clock=FakeClock())
    for n in range(4):
        window.seen_or_remember("zendesk", f"ticket-{n}", f"id-{n}")
    assert len(window) == 3
    assert window.seen_or_remember("zendesk", "ticket-3", "again") == "id-3"
    assert window.seen_or_remember("zendesk", "ticket-0", "again") is None


def test_concurrent_repeats_yield_exactly_one_first_sighting() -> None:
    window = DuplicateWindow(window_s=60, max_entries=100)
    results: list[str | None] = []
    start = threading.Barrier(8)

    def ingest(n: int) -> None:
        start.wait()
        results.append(window.seen_or_remember("zendesk", "ticket-1", f"id-{n}"))

    threads = [threading.Thread(target=ingest, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(None) == 1


def test_forgotten_key_is_new_again_on_retry() -> None:
    window = DuplicateWindow(window_s=60, max_entries=10, clock=FakeClock())
    window.seen_or_remember("zendesk", "ticket-1", "id-1")
    window.forget("zendesk", "ticket-1")
    assert window.seen_or_remember("zendesk", "ticket-1", "id-1") is None


def test_forgetting_an_unknown_key_is_harmless() -> None:
    window = DuplicateWindow(window_s=60, max_entries=10, clock=FakeClock())
    window.forget("zendesk", "never-seen")
    assert len(window) == 0


@pytest.mark.parametrize(("window_s", "max_entries"), [(0, 10), (60, 0)])
def test_nonsensical_limits_are_rejected(window_s: float, max_entries: int) -> None:
    with pytest.raises(ValueError):
        DuplicateWindow(window_s=window_s, max_entries=max_entries)


def test_retry_with_same_external_id_returns_same_message_id() -> None:
    assert message_id_for("zendesk", "ticket-1") == message_id_for("zendesk", "ticket-1")


def test_message_id_with_external_id_is_a_uuid5() -> None:
    assert uuid.UUID(message_id_for("zendesk", "ticket-1")).version == 5


def test_different_source_or_external_id_gives_a_different_message_id() -> None:
    ids = {
        message_id_for("zendesk", "ticket-1"),
        message_id_for("zendesk", "ticket-2"),
        message_id_for("intercom", "ticket-1"),
        message_id_for("a:b", "c"),
        message_id_for("a", "b:c"),
    }
    assert len(ids) == 5


def test_message_without_external_id_gets_a_fresh_random_id() -> None:
    first, second = message_id_for("api", None), message_id_for("api", None)
    assert first != second
    assert uuid.UUID(first).version == 4
