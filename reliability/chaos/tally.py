"""The arithmetic of a chaos run: percentiles, lost ids, double counts. No I/O here."""

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

# carepulse_alert_messages_total{outcome="on_time"} 12.0
_COUNTED = re.compile(
    r'^carepulse_alert_messages_total\{outcome="(on_time|late|unattributed)"\}\s+([0-9.eE+-]+)\s*$',
    re.M,
)


def p99(values: Sequence[float]) -> float | None:
    """The 99th percentile by nearest rank: the smallest value >= 99% of them; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def lost(accepted: Iterable[str], classified: Iterable[str]) -> set[str]:
    """Ids the gateway accepted (2xx) that never reached messages.classified."""
    return set(accepted) - set(classified)


def duplicate_alerts(events: Iterable[tuple[str, str]]) -> int:
    """Alert ids with more than one `firing` event, from (alert_id, state) pairs."""
    firing = Counter(alert_id for alert_id, state in events if state == "firing")
    return sum(1 for count in firing.values() if count > 1)


def double_counted(counted: int, distinct: int) -> int:
    """Messages the alert service counted beyond the distinct ids it was given (never < 0)."""
    return max(0, counted - distinct)


def counted_messages(metrics_text: str) -> int:
    """Messages the alert service counted once: on_time + late + unattributed (those it left
    out of every topic's series); `duplicate` ones were ignored."""
    return sum(int(float(value)) for _, value in _COUNTED.findall(metrics_text))


class CounterAcrossRestarts:
    """A Prometheus counter followed across process restarts, as `increase()` does.

    A sample below the previous one means the process started again from 0: what the old
    one had reached is kept, and the new one adds to it.
    """

    def __init__(self) -> None:
        self._before_restarts = 0
        self._last = 0

    def observe(self, value: int) -> None:
        if value < self._last:
            self._before_restarts += self._last
        self._last = value

    @property
    def total(self) -> int:
        return self._before_restarts + self._last
