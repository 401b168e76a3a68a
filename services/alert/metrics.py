"""The alert service's Prometheus metrics."""

from prometheus_client import Counter, Gauge

ALERTS_OPENED = Counter(
    "carepulse_alerts_opened_total", "Alerts opened (one per incident).", ["topic", "severity"]
)
OPEN_ALERTS = Gauge("carepulse_alerts_open", "Alerts firing or acknowledged, not yet resolved.")
OPEN_STREAMS = Gauge("carepulse_alert_open_streams", "StreamAlerts calls being served.")
BUCKETS_CLOSED = Counter(
    "carepulse_alert_buckets_closed_total", "Time buckets fed to a series' spike monitor."
)
# outcome: on_time | late (counted into the series' first open bucket) | duplicate (ignored)
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
