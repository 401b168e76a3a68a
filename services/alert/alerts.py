"""Alerts as the domain sees them: a series, what kind of incident, its evidence, and a
lifecycle state."""

import enum
from dataclasses import dataclass
from datetime import datetime

# Enough for an operator to open a few conversations, small enough to keep events light.
MAX_EXAMPLE_MESSAGE_IDS = 5


@dataclass(frozen=True, order=True)
class SeriesKey:
    """One monitored time series: the messages of one intent on one channel."""

    topic: str  # the classifier's intent
    channel: str


class AlertKind(enum.Enum):
    """What went wrong on a series; each kind has its own detector, evidence and severity."""

    NEGATIVE_SHARE = "negative_share"  # the share of negative messages spiked
    VOLUME = "volume"  # the number of messages surged


class AlertState(enum.Enum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    @property
    def is_open(self) -> bool:
        return self is not AlertState.RESOLVED


class Severity(enum.Enum):
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class SpanRef:
    """A span by its W3C ids in lower-case hex, the form trace stores are searched by."""

    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits


@dataclass(frozen=True)
class ExampleMessage:
    """A negative message kept as evidence, and where its trace is."""

    message_id: str
    # The span that produced its messages.classified record: from there an operator follows
    # the message's trace back through classify and ingest to the request that sent it.
    # None when the record carried no trace context.
    producer_span: SpanRef | None = None


@dataclass(frozen=True)
class Evidence:
    """What made the detector fire, accumulated over the incident's anomalous buckets."""

    negative_count: int
    total_count: int
    baseline_negatives: float  # expected negatives per bucket before the incident
    baseline_messages: float  # expected messages per bucket before it (volume alerts; else 0)
    score: float  # the highest detector score seen during the incident, in [0, 1]
    window_start: datetime
    window_end: datetime
    examples: tuple[ExampleMessage, ...]  # at most MAX_EXAMPLE_MESSAGE_IDS

    @property
    def example_message_ids(self) -> tuple[str, ...]:
        return tuple(example.message_id for example in self.examples)


@dataclass(frozen=True)
class Acknowledgement:
    operator: str
    note: str
    at: datetime


@dataclass(frozen=True)
class Alert:
    alert_id: str
    series: SeriesKey
    kind: AlertKind
    state: AlertState
    severity: Severity
    evidence: Evidence
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    acknowledgement: Acknowledgement | None = None
