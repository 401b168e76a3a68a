"""Delivers lifecycle events to one notification destination: retries, backoff, dead letters.

Each destination works through its pending deliveries in sequence order and stops at the
first one that has to wait for a retry: a receiver never sees `resolved` before the `firing`
it ends (Alertmanager would re-open the alert). Delivery is at-least-once; receivers
de-duplicate by the event's sequence, sent as the idempotency key.
"""

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from services.alert.alerts import Alert
from services.alert.metrics import NOTIFICATION_ATTEMPTS, NOTIFICATIONS_DEAD_LETTERED
from services.alert.storage.deliveries import DeliveryQueue, PendingDelivery

log = logging.getLogger(__name__)


class DeliveryOutcome(enum.Enum):
    DELIVERED = "delivered"
    RETRYABLE = "retryable"  # the receiver may take it later: network error, 5xx, 429
    REJECTED = "rejected"  # the receiver will never take it: other 4xx


@dataclass(frozen=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    detail: str = ""  # why it failed, e.g. "HTTP 503"; never a URL or a secret
    retry_after_s: float | None = None  # the receiver's Retry-After, if it sent one


class Destination(Protocol):
    @property
    def name(self) -> str:
        """Stable across restarts: the key of this destination's delivery rows."""

    @property
    def kind(self) -> str:
        """A metric label: `webhook` or `alertmanager`."""

    def deliver(self, sequence: int, alert: Alert) -> DeliveryResult: ...


class DeadLetterSink(Protocol):
    def dead_letter(
        self, destination: str, sequence: int, alert: Alert, reason: str, attempts: int
    ) -> None:
        """Record a given-up delivery durably; raise if that failed (it is then retried)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    initial_backoff: timedelta = timedelta(seconds=1)
    max_backoff: timedelta = timedelta(minutes=5)

    def backoff_after(self, failed_attempts: int) -> timedelta:
        """1x, 2x, 4x ... the initial backoff after the 1st, 2nd, 3rd failure; capped."""
        return min(
            self.initial_backoff * (1 << min(max(failed_attempts - 1, 0), 20)), self.max_backoff
        )


class NotificationDispatcher:
    def __init__(
        self,
        queue: DeliveryQueue,
        destination: Destination,
        policy: RetryPolicy,
        dead_letters: DeadLetterSink,
        *,
        batch_size: int = 20,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._queue = queue
        self._destination = destination
        self._policy = policy
        self._dead_letters = dead_letters
        self._batch_size = batch_size
        self._clock = clock
        # Series at 0 from the start: increase() would miss a series' first event, and with it
        # the NotificationsDeadLettered alert.
        for outcome in ("delivered", "failed"):
            NOTIFICATION_ATTEMPTS.labels(destination.kind, outcome)
        NOTIFICATIONS_DEAD_LETTERED.labels(destination.kind)

    def deliver_due(self) -> int:
        """Deliver pending events in order until one has to wait; returns how many were settled
        (delivered or dead-lettered)."""
        settled = 0
        while deliveries := self._queue.pending(self._destination.name, self._batch_size):
            for delivery in deliveries:
                if delivery.next_attempt_at > self._clock() or not self._attempt(delivery):
                    return settled
                settled += 1
        return settled

    def _attempt(self, delivery: PendingDelivery) -> bool:
        """One try; True once the delivery is settled, False when it waits for a retry."""
        destination = self._destination
        alert = delivery.alert
        result = destination.deliver(delivery.sequence, alert)
        now = self._clock()
        if result.outcome is DeliveryOutcome.DELIVERED:
            NOTIFICATION_ATTEMPTS.labels(destination.kind, "delivered").inc()
            self._queue.mark_delivered(delivery, now)
            return True
        NOTIFICATION_ATTEMPTS.labels(destination.kind, "failed").inc()
        attempts = delivery.attempts + 1
        if result.outcome is DeliveryOutcome.RETRYABLE and attempts < self._policy.max_attempts:
            wait = self._policy.backoff_after(attempts)
            if result.retry_after_s is not None:
                wait = max(
                    wait, min(timedelta(seconds=result.retry_after_s), self._policy.max_backoff)
                )
            self._queue.retry_later(delivery, now + wait, result.detail, now)
            log.info(
                "notification failed; retrying",
                extra={
                    "destination": destination.name,
                    "sequence": delivery.sequence,
                    "attempt": attempts,
                    "error": result.detail,
                    "retry_in_s": wait.total_seconds(),
                },
            )
            return False
        # Kafka first: if that fails the row stays pending and the whole step is retried.
        self._dead_letters.dead_letter(
            destination.name, delivery.sequence, alert, result.detail, attempts
        )
        self._queue.mark_dead_lettered(delivery, result.detail, now)
        NOTIFICATIONS_DEAD_LETTERED.labels(destination.kind).inc()
        log.warning(
            "notification dead-lettered",
            extra={
                "destination": destination.name,
                "sequence": delivery.sequence,
                "attempts": attempts,
                "error": result.detail,
            },
        )
        return True
