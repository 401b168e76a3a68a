"""The recommend service's Prometheus metrics."""

from prometheus_client import Counter

# outcome: counted | duplicate (redelivered, ignored) | unknown_message | article_not_suggested
# (the last two: no such suggestion was served to that customer, so the vote is refused)
FEEDBACK_EVENTS = Counter(
    "carepulse_recommend_feedback_events_total",
    "Feedback events read from the `feedback` topic, by what became of them.",
    ["outcome"],
)
# Counted votes only (not duplicates or refused ones): how helpful agents find the suggestions.
SUGGESTION_VOTES = Counter(
    "carepulse_recommend_suggestion_votes_total",
    "Votes on suggested articles counted into the ranking, by verdict.",
    ["verdict"],  # helpful | not_helpful
)
RETENTION_DELETED = Counter(
    "carepulse_recommend_retention_deleted_total",
    "Rows deleted by the retention job.",
    ["kind"],  # vote | suggestion
)
