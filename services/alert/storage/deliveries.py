"""Per-destination delivery state of lifecycle events: the notification side of the outbox.

Appending an event (`AlertRows.append_event`) writes one pending row per configured destination
together with it, so no change of state can be committed without its notifications, and a
restarted process resumes exactly the deliveries that were still pending.
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select, update

from services.alert.alerts import Alert
from services.alert.storage import schema
from services.alert.storage.snapshots import from_snapshot


class DeliveryState(enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class PendingDelivery:
    destination: str
    sequence: int
    attempts: int  # failed attempts so far
    next_attempt_at: datetime
    alert: Alert  # as of the event


class DeliveryQueue:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def pending(self, destination: str, limit: int) -> list[PendingDelivery]:
        """The destination's undelivered events, oldest first."""
        deliveries, events = schema.alert_deliveries, schema.alert_events
        statement = (
            select(
                deliveries.c.sequence,
                deliveries.c.attempts,
                deliveries.c.next_attempt_at,
                events.c.alert_snapshot,
            )
            .join(events, events.c.sequence == deliveries.c.sequence)
            .where(
                deliveries.c.destination == destination,
                deliveries.c.state == DeliveryState.PENDING.value,
            )
            .order_by(deliveries.c.sequence)
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [
                PendingDelivery(
                    destination=destination,
                    sequence=row.sequence,
                    attempts=row.attempts,
                    next_attempt_at=row.next_attempt_at,
                    alert=from_snapshot(row.alert_snapshot),
                )
                for row in connection.execute(statement)
            ]

    def mark_delivered(self, delivery: PendingDelivery, now: datetime) -> None:
        self._update(
            delivery, state=DeliveryState.DELIVERED, attempts=delivery.attempts + 1, now=now
        )

    def retry_later(
        self, delivery: PendingDelivery, next_attempt_at: datetime, error: str, now: datetime
    ) -> None:
        self._update(
            delivery,
            state=DeliveryState.PENDING,
            attempts=delivery.attempts + 1,
            now=now,
            next_attempt_at=next_attempt_at,
            last_error=error,
        )

    def mark_dead_lettered(self, delivery: PendingDelivery, error: str, now: datetime) -> None:
        self._update(
            delivery,
            state=DeliveryState.DEAD_LETTERED,
            attempts=delivery.attempts + 1,
            now=now,
            last_error=error,
        )

    def count(self, destination: str, state: DeliveryState) -> int:
        table = schema.alert_deliveries
        statement = select(func.count()).where(
            table.c.destination == destination, table.c.state == state.value
        )
        with self._engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def _update(
        self,
        delivery: PendingDelivery,
        *,
        state: DeliveryState,
        attempts: int,
        now: datetime,
        next_attempt_at: datetime | None = None,
        last_error: str | None = None,
    ) -> None:
        table = schema.alert_deliveries
        values: dict[str, object] = {"state": state.value, "attempts": attempts, "updated_at": now}
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if last_error is not None:
            values["last_error"] = last_error[:2000]
        with self._engine.begin() as connection:
            connection.execute(
                update(table)
                .where(
                    table.c.destination == delivery.destination,
                    table.c.sequence == delivery.sequence,
                )
                .values(**values)
            )


def add_pending_deliveries(
    connection: Connection, sequence: int, destinations: Sequence[str], at: datetime
) -> None:
    if destinations:
        connection.execute(
            insert(schema.alert_deliveries),
            [
                {
                    "destination": destination,
                    "sequence": sequence,
                    "state": DeliveryState.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": at,
                    "updated_at": at,
                }
                for destination in destinations
            ],
        )
