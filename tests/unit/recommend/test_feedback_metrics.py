"""The feedback consumer counts how helpful agents find the suggestions, once per vote."""

from carepulse.v1 import events_pb2
from prometheus_client import REGISTRY

from servicekit.kafka.consumer import InboundRecord
from services.recommend.consumers import FeedbackProcessor
from services.recommend.feedback import FeedbackStore


def _votes(verdict: str) -> float:
    labels = {"verdict": verdict}
    return REGISTRY.get_sample_value("carepulse_recommend_suggestion_votes_total", labels) or 0.0


def _record(n: int, helpful: bool) -> InboundRecord[events_pb2.FeedbackEvent]:
    event = events_pb2.FeedbackEvent(
        feedback_id=f"fb-{n}",
        message_id="msg-1",
        customer_id="alice",
        article_id="lost-card",
        helpful=helpful,
    )
    event.given_at.GetCurrentTime()
    return InboundRecord(value=event, key="alice", topic="feedback", partition=0, offset=n)


def test_counted_votes_are_counted_by_verdict_and_redeliveries_are_not(
    store: FeedbackStore,
) -> None:
    store.remember_served("alice", "msg-1", "lost_card", ["lost-card"])
    helpful, not_helpful = _votes("helpful"), _votes("not_helpful")
    processor = FeedbackProcessor(store)

    processor.process([_record(1, True), _record(2, False)])
    processor.process([_record(1, True)])  # redelivered: changes nothing

    assert _votes("helpful") == helpful + 1
    assert _votes("not_helpful") == not_helpful + 1


def test_a_refused_vote_is_not_counted_as_helpfulness(store: FeedbackStore) -> None:
    helpful = _votes("helpful")

    FeedbackProcessor(store).process([_record(3, True)])  # nothing was served to alice

    assert _votes("helpful") == helpful
