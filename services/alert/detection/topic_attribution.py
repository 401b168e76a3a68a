"""Which topic's series a classified message counts in: its predicted intent, when the
classifier is sure enough of it.

The classifier's confusions are not noise spread evenly over the series. Each intent is
confused with a few neighbours (a lost card with a lost phone, a pending top-up with a failed
one), so when a topic has an incident, the share of its messages the classifier misroutes gives
each neighbour a smaller copy of the same burst, which that neighbour's detectors cannot tell
from an incident of its own. Most misroutes are unsure predictions, while most right ones are
sure, so a message whose intent confidence is below ``min_intent_confidence`` counts in no
topic's series. Every series then counts fewer messages, but about the same share of them at
every hour, and its detectors learn that level as normal. The price is sensitivity: a slowly
rising incident reaches the detectors' minimum counts a little later. (benchmarks/alerts/e2e.py
measures both end to end; docs/alerts.md has the figures.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicAttribution:
    # Chosen on the end-to-end benchmark's dev split (benchmarks/RESULTS.md); 0 counts every
    # message in its predicted intent.
    min_intent_confidence: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_intent_confidence < 1.0:
            raise ValueError("min_intent_confidence must be in [0, 1)")

    def topic_of(self, intent: str, intent_confidence: float) -> str | None:
        """The topic whose series counts the message, or None when it counts in none."""
        if intent_confidence < self.min_intent_confidence:
            return None
        return intent
