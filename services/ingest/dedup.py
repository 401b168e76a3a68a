"""De-duplication of retried messages: stable ids plus a bounded memory of recent keys.

A key is *pending* from the moment a call claims it until the broker acknowledged (committed)
or refused (released) its message. Only a committed key answers a retry with "duplicate":
a retry never hears "accepted" for a message that is not durably on Kafka.
"""

import enum
import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

# Fixed forever: changing it would give every retried message a new id downstream.
_MESSAGE_ID_NAMESPACE = uuid.UUID("5d0c3f4e-8a61-4f0e-9c55-2f7b1a6e4c21")


@dataclass(frozen=True)
class MessageKey:
    """What names one message across retries, always within one caller's namespace.

    `caller` is the authenticated API key's name, so two callers never share a key: one
    cannot mark another's messages as duplicates, nor learn or take their ids.
    """

    caller: str
    parts: tuple[str, ...]

    @classmethod
    def from_source(cls, caller: str, source: str, external_id: str) -> "MessageKey":
        """The source system's own id for the message (e.g. a Zendesk ticket comment)."""
        return cls(caller, ("source", source, external_id))

    @classmethod
    def from_idempotency_key(
        cls, caller: str, idempotency_key: str, index: int | None = None
    ) -> "MessageKey":
        """The caller's Idempotency-Key for a request; `index` is the position in a batch."""
        if index is None:
            return cls(caller, ("idempotency-key", idempotency_key))
        return cls(caller, ("idempotency-key", idempotency_key, str(index)))

    def message_id(self) -> str:
        """A UUIDv5 of the key: a retry, even after an ingest restart, gets the same id."""
        # JSON keeps ("a:b", "c") and ("a", "b:c") apart, whatever characters the ids use.
        return str(uuid.uuid5(_MESSAGE_ID_NAMESPACE, json.dumps([self.caller, *self.parts])))


def message_id_for(key: MessageKey | None) -> str:
    """The key's derived id, or a random UUIDv4 for a message nothing names."""
    return key.message_id() if key is not None else str(uuid.uuid4())


class ClaimState(enum.Enum):
    OWNED = "owned"  # first sighting: the claimer publishes, then settles the claim
    PENDING = "pending"  # another call is publishing it; wait for that call's outcome
    COMMITTED = "committed"  # already durably published: a duplicate


class _Outcome:
    """The fate of one claimed key, shared by its owner and every retry waiting on it."""

    def __init__(self) -> None:
        self.published = False
        self.settled = threading.Event()


@dataclass(frozen=True)
class Claim:
    key: MessageKey
    message_id: str
    state: ClaimState
    _outcome: _Outcome = field(repr=False, compare=False)

    def wait_published(self, timeout_s: float) -> bool | None:
        """For a PENDING claim: True once its owner published, False if that failed (the
        retry may then publish itself), None if still undecided after `timeout_s`."""
        if not self._outcome.settled.wait(max(timeout_s, 0.0)):
            return None
        return self._outcome.published


class DuplicateWindow:
    """Remembers each claimed key -> message_id for `window_s` seconds after first sight.

    Memory is bounded by `max_entries`: when full, the oldest key is forgotten early, so a
    flood of distinct ids can weaken de-duplication but never exhaust memory. Safe to call
    from several threads.
    """

    def __init__(
        self,
        window_s: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, got {window_s}")
        if max_entries <= 0:
            raise ValueError(f"max_entries must be positive, got {max_entries}")
        self._window_s = window_s
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        # Insertion order is first-seen order, so the front is always the next to expire.
        self._first_seen: OrderedDict[MessageKey, tuple[str, _Outcome, float]] = OrderedDict()

    def claim(self, key: MessageKey, message_id: str) -> Claim:
        """OWNED (remembered as pending under `message_id`) on first sight; otherwise the
        earlier message_id with its state. The owner must `settle` what it claims."""
        with self._lock:
            now = self._clock()
            self._forget_expired(now)
            earlier = self._first_seen.get(key)
            if earlier is not None:
                earlier_id, outcome, _ = earlier
                state = ClaimState.COMMITTED if outcome.published else ClaimState.PENDING
                return Claim(key, earlier_id, state, outcome)
            outcome = _Outcome()
            self._first_seen[key] = (message_id, outcome, now)
            if len(self._first_seen) > self._max_entries:
                self._first_seen.popitem(last=False)
            return Claim(key, message_id, ClaimState.OWNED, outcome)

    def settle(self, claim: Claim, *, published: bool) -> None:
        """The owner's publish ended: a published key is committed; an unpublished one is
        forgotten, so the client's retry is treated as new rather than silently skipped.
        Wakes every retry waiting on the key."""
        if claim.state is not ClaimState.OWNED:
            raise ValueError(f"only the owner settles a claim, not a {claim.state.value} one")
        with self._lock:
            outcome = claim._outcome
            outcome.published = published
            current = self._first_seen.get(claim.key)
            # The entry may have expired or been evicted meanwhile, or even re-claimed.
            if not published and current is not None and current[1] is outcome:
                del self._first_seen[claim.key]
        outcome.settled.set()

    def __len__(self) -> int:
        """Keys currently remembered, e.g. for a gauge."""
        with self._lock:
            return len(self._first_seen)

    def _forget_expired(self, now: float) -> None:
        while self._first_seen:
            _, _, first_seen_at = next(iter(self._first_seen.values()))
            if now - first_seen_at < self._window_s:
                return
            self._first_seen.popitem(last=False)
