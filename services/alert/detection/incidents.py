"""The one place that decides when an alert opens, goes on and resolves.

Each kind of each series has an :class:`IncidentTracker`. It is fed, bucket by bucket, whether
that kind's detector found the bucket anomalous, and answers with a :class:`Decision` that the
lifecycle carries out against the store and the benchmarks count: an incident opens on the
first anomalous bucket, unless the previous one opened less than ``cooldown_buckets`` ago;
it goes on through up to ``resolve_after_buckets - 1`` quiet buckets and resolves on the
``resolve_after_buckets``-th.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from services.alert.detection.state import integer


class Decision(enum.Enum):
    NONE = "none"  # no incident, none opened
    OPEN = "open"  # this bucket opened an incident: a new alert
    CONTINUE = "continue"  # an incident is open and stays open after this bucket
    RESOLVE = "resolve"  # this bucket closed the incident

    @property
    def incident_open(self) -> bool:
        """An incident is open after this bucket."""
        return self in (Decision.OPEN, Decision.CONTINUE)


@dataclass(frozen=True)
class IncidentRules:
    cooldown_buckets: int = 30
    resolve_after_buckets: int = 10

    def __post_init__(self) -> None:
        if self.cooldown_buckets < 0 or self.resolve_after_buckets < 1:
            raise ValueError("cooldown_buckets must be >= 0 and resolve_after_buckets >= 1")


class IncidentTracker:
    def __init__(self, rules: IncidentRules) -> None:
        self.rules = rules
        self._open = False
        self._quiet_buckets = 0
        self._buckets_since_open: int | None = None

    @property
    def idle(self) -> bool:
        """No incident open and the cooldown over: the next anomalous bucket would open one."""
        return not self._open and self._cooled

    def step(self, anomalous: bool) -> Decision:
        if self._buckets_since_open is not None:
            self._buckets_since_open += 1
        if anomalous:
            self._quiet_buckets = 0
            if self._open:
                return Decision.CONTINUE
            if not self._cooled:
                return Decision.NONE
            self._open = True
            self._buckets_since_open = 0
            return Decision.OPEN
        if not self._open:
            return Decision.NONE
        self._quiet_buckets += 1
        if self._quiet_buckets < self.rules.resolve_after_buckets:
            return Decision.CONTINUE
        self._open = False
        return Decision.RESOLVE

    @property
    def _cooled(self) -> bool:
        since = self._buckets_since_open
        return since is None or since >= self.rules.cooldown_buckets

    def to_state(self) -> dict[str, object]:
        return {
            "open": self._open,
            "quiet_buckets": self._quiet_buckets,
            "buckets_since_open": self._buckets_since_open,
        }

    @classmethod
    def from_state(cls, state: dict[str, object], rules: IncidentRules) -> IncidentTracker:
        tracker = cls(rules)
        tracker._open = bool(state["open"])
        tracker._quiet_buckets = integer(state["quiet_buckets"])
        since = state["buckets_since_open"]
        tracker._buckets_since_open = None if since is None else integer(since)
        return tracker
