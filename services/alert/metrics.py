"""The alert service's Prometheus metrics."""

from prometheus_client import Counter, Gauge, Histogram

# kind: negative_share | volume
ALERTS_OPENED = Counter(
    "carepulse_alerts_opened_total",
    "Alerts opened (one per incident and kind).",
    ["topic", "severity", "kind"],
)
OPEN_ALERTS = Gauge("carepulse_alerts_open", "Alerts firing or acknowledged, not yet resolved.")
OPEN_STREAMS = Gauge("carepulse_alert_open_streams", "StreamAlerts calls being served.")
BUCKETS_CLOSED = Counter(
    "carepulse_alert_buckets_closed_total", "Time buckets fed to a series' monitor."
)
# outcome: on_time | late (counted into the series' first open bucket) | duplicate (ignored)
# | unattributed (counted in no series: the classifier was unsure of its intent)
MESSAGES = Counter(
    "carepulse_alert_messages_total", "Classified messages seen by the counter.", ["outcome"]
)
EVENTS_PUBLISHED = Counter(
    "carepulse_alert_events_published_total", "Lifecycle events acknowledged by Kafka."
)
# kind: webhook | alertmanager; outcome: delivered | failed (retried later or dead-lettered)
NOTIFICATION_ATTEMPTS = Counter(
    "carepulse_alert_notification_attempts_total",
    "Attempts to deliver a lifecycle event to a notification destination.",
    ["kind", "outcome"],
)
NOTIFICATIONS_DEAD_LETTERED = Counter(
    "carepulse_alert_notifications_dead_lettered_total",
    "Lifecycle events given up on after the last attempt (see alert_deliveries).",
    ["kind"],
)
# The dashboards chart it per topic: channels are added up (see negative_ratio.py).
NEGATIVE_RATIO = Gauge(
    "carepulse_alert_negative_ratio",
    "Negative share (0..1) of each topic's last closed bucket, all channels together; "
    "absent while the topic has no messages.",
    ["topic"],
)
TIME_TO_ACKNOWLEDGE = Histogram(
    "carepulse_alert_time_to_acknowledge_seconds",
    "From an alert opening to an operator acknowledging it.",
    ["severity"],
    # From "on it at once" to "next morning".
    buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400),
)
