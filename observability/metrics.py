"""The metric catalogue: every metric CarePulse exports, by the Prometheus jobs that export it.

Dashboards and rules select only these (and the recording rules' own series); the tests hold
the catalogue equal to the metrics the code defines, and every panel and rule to data in a
real Prometheus. Names are PromQL names (counters with `_total`, histograms by their base name).
"""

from dataclasses import dataclass

SERVICES = ("ingest", "classify", "recommend", "alert")
JOBS = (*SERVICES, "gateway")
# Every Kafka consumer (servicekit/kafka/consumer.py) runs in these.
CONSUMERS = ("classify", "recommend", "alert")


@dataclass(frozen=True)
class Metric:
    kind: str  # counter | gauge | histogram
    labels: tuple[str, ...]
    exporters: tuple[str, ...]  # Prometheus jobs that export it
    help: str


EXPORTED: dict[str, Metric] = {
    # gateway (gateway/metrics.py), on :8080/metrics
    "carepulse_gateway_requests_total": Metric(
        "counter", ("route", "method", "status"), ("gateway",), "HTTP requests answered"
    ),
    "carepulse_gateway_request_duration_seconds": Metric(
        "histogram", ("route", "method"), ("gateway",), "request to end of response"
    ),
    "carepulse_gateway_rate_limited_total": Metric(
        "counter", ("role",), ("gateway",), "requests refused with 429"
    ),
    "carepulse_gateway_open_alert_streams": Metric(
        "gauge", (), ("gateway",), "SSE alert streams open"
    ),
    # every gRPC service (servicekit/grpc/metrics.py)
    "carepulse_grpc_server_handled_total": Metric(
        "counter", ("method", "code"), SERVICES, "RPCs completed, by status code"
    ),
    "carepulse_grpc_server_handling_seconds": Metric(
        "histogram", ("method",), SERVICES, "time to complete an RPC"
    ),
    # every Kafka consumer (servicekit/kafka/consumer.py, lag.py)
    "carepulse_kafka_records_consumed_total": Metric(
        "counter", ("topic",), CONSUMERS, "records processed, committed"
    ),
    "carepulse_kafka_dead_letters_total": Metric(
        "counter", ("topic",), CONSUMERS, "records dead-lettered"
    ),
    "carepulse_kafka_batch_seconds": Metric(
        "histogram", ("topic",), CONSUMERS, "process + commit a batch"
    ),
    "carepulse_kafka_consumer_lag": Metric(
        "gauge", ("group", "topic", "partition"), CONSUMERS, "records beyond the position"
    ),
    # every Kafka producer (servicekit/kafka/producer.py): each service publishes
    "carepulse_kafka_produce_errors_total": Metric(
        "counter", ("topic",), SERVICES, "records the broker refused or timed out"
    ),
    # classify (services/classify/metrics.py)
    "carepulse_classify_batch_size": Metric(
        "histogram", (), ("classify",), "distinct texts per micro-batch"
    ),
    "carepulse_classify_queue_wait_seconds": Metric(
        "histogram", (), ("classify",), "texts queued to the start of their micro-batch"
    ),
    "carepulse_classify_model_seconds": Metric(
        "histogram", ("model_version", "forward"), ("classify",), "one micro-batch's forward pass"
    ),
    "carepulse_classify_confidence": Metric(
        "histogram", ("head",), ("classify",), "probability of the predicted label (0-1)"
    ),
    "carepulse_messages_classified_total": Metric(
        "counter", ("sentiment", "intent"), ("classify",), "messages by predicted labels"
    ),
    "carepulse_classify_cache_lookups_total": Metric(
        "counter", ("result",), ("classify",), "prediction cache lookups: hit|miss"
    ),
    # alert (services/alert/metrics.py)
    "carepulse_alerts_opened_total": Metric(
        "counter", ("topic", "severity", "kind"), ("alert",), "alerts opened, one per incident"
    ),
    "carepulse_alerts_open": Metric("gauge", (), ("alert",), "alerts firing or acknowledged"),
    "carepulse_alert_open_streams": Metric("gauge", (), ("alert",), "StreamAlerts calls served"),
    "carepulse_alert_buckets_closed_total": Metric(
        "counter", (), ("alert",), "time buckets fed to a spike monitor"
    ),
    "carepulse_alert_messages_total": Metric(
        "counter",
        ("outcome",),
        ("alert",),
        "classified messages counted: on_time|late|duplicate|unattributed",
    ),
    "carepulse_alert_events_published_total": Metric(
        "counter", (), ("alert",), "lifecycle events acknowledged by Kafka"
    ),
    "carepulse_alert_notification_attempts_total": Metric(
        "counter", ("kind", "outcome"), ("alert",), "webhook/Alertmanager delivery attempts"
    ),
    "carepulse_alert_notifications_dead_lettered_total": Metric(
        "counter", ("kind",), ("alert",), "lifecycle events given up on"
    ),
    "carepulse_alert_negative_ratio": Metric(
        "gauge", ("topic",), ("alert",), "negative share of the topic's last closed bucket"
    ),
    "carepulse_alert_time_to_acknowledge_seconds": Metric(
        "histogram", ("severity",), ("alert",), "alert opened to acknowledged"
    ),
    # recommend (services/recommend/metrics.py)
    "carepulse_recommend_feedback_events_total": Metric(
        "counter", ("outcome",), ("recommend",), "feedback events, by what became of them"
    ),
    "carepulse_recommend_suggestion_votes_total": Metric(
        "counter", ("verdict",), ("recommend",), "counted votes: helpful | not_helpful"
    ),
    "carepulse_recommend_retention_deleted_total": Metric(
        "counter", ("kind",), ("recommend",), "rows deleted by retention"
    ),
    # the collector's spanmetrics connector: RED of every span, with exemplars
    "traces_span_metrics_calls_total": Metric(
        "counter",
        ("service_name", "span_name", "span_kind", "status_code"),
        ("spanmetrics",),
        "spans finished",
    ),
    "traces_span_metrics_duration_milliseconds": Metric(
        "histogram",
        ("service_name", "span_name", "span_kind", "status_code"),
        ("spanmetrics",),
        "span duration",
    ),
    # Prometheus itself: one series per target
    "up": Metric("gauge", (), (*JOBS, "spanmetrics", "otel-collector"), "target scraped"),
    "ALERTS": Metric("gauge", ("alertname", "alertstate"), ("prometheus",), "alerts firing"),
}

# Suffixes PromQL adds to a histogram's base name.
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def base_name(series: str) -> str:
    """The catalogue name of a PromQL series name (`x_bucket` -> `x` for a histogram)."""
    for suffix in HISTOGRAM_SERIES:
        stem = series.removesuffix(suffix)
        if stem != series and stem in EXPORTED:
            return stem
    return series
