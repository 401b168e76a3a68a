"""Pipeline: Kafka throughput per topic, consumer lag, dead letters, notifications."""

from grafana_foundation_sdk.builders.dashboard import Dashboard

from observability.dashboards.panels import RATE, dashboard, graph, latency, query, row


def build() -> Dashboard:
    return (
        dashboard(
            "carepulse-pipeline",
            "CarePulse / Pipeline",
            "ingest -> messages.raw -> classify -> messages.classified -> alert, recommend.",
        )
        .with_row(row("Throughput"))
        .with_panel(
            graph(
                "Records consumed by topic and service",
                "ops",
                [
                    query(
                        "sum by (job, topic) (rate(carepulse_kafka_records_consumed_total"
                        f"[{RATE}]))",
                        "{{job}} <- {{topic}}",
                    )
                ],
                description="Processed and committed (at-least-once: after the output is durable).",
            )
        )
        .with_panel(
            graph(
                "Records published (producer spans)",
                "ops",
                [
                    query(
                        "sum by (service_name, span_name) (rate(traces_span_metrics_calls_total"
                        f'{{span_kind="SPAN_KIND_PRODUCER"}}[{RATE}]))',
                        "{{service_name}}: {{span_name}}",
                    )
                ],
            )
        )
        .with_panel(
            latency(
                "Batch processing time by topic",
                "carepulse_kafka_batch_seconds",
                "",
                "topic",
                description="Poll to commit of one batch.",
            )
        )
        .with_panel(
            graph(
                "Consumer lag by partition",
                "short",
                [
                    query(
                        "max by (group, topic, partition) (carepulse_kafka_consumer_lag)",
                        "{{group}} {{topic}}/{{partition}}",
                    )
                ],
                description="Records in each partition beyond the group's position, measured "
                "after every poll; classify scales on it in production.",
            )
        )
        .with_row(row("Failures"))
        .with_panel(
            graph(
                "Dead letters by topic",
                "short",
                [
                    query(
                        "sum by (job, topic) (increase(carepulse_kafka_dead_letters_total"
                        f"[{RATE}]))",
                        "{{job}}: {{topic}}",
                    )
                ],
                description="Records given up on after KAFKA_MAX_ATTEMPTS, sent to <topic>.dlq.",
            )
        )
        .with_panel(
            graph(
                "Produce errors by topic",
                "short",
                [
                    query(
                        "sum by (job, topic) (increase(carepulse_kafka_produce_errors_total"
                        f"[{RATE}]))",
                        "{{job}}: {{topic}}",
                    )
                ],
                description="Records the broker refused or did not acknowledge in time.",
            )
        )
        .with_row(row("Alert notifications"))
        .with_panel(
            graph(
                "Notification attempts",
                "ops",
                [
                    query(
                        "sum by (kind, outcome) "
                        f"(rate(carepulse_alert_notification_attempts_total[{RATE}]))",
                        "{{kind}} {{outcome}}",
                    ),
                    query(
                        "sum by (kind) "
                        f"(rate(carepulse_alert_notifications_dead_lettered_total[{RATE}]))",
                        "{{kind}} dead-lettered",
                    ),
                ],
            )
        )
        .with_panel(
            graph(
                "Messages counted by the spike detector",
                "ops",
                [
                    query(
                        f"sum by (outcome) (rate(carepulse_alert_messages_total[{RATE}]))",
                        "{{outcome}}",
                    ),
                    query(
                        f"sum(rate(carepulse_alert_events_published_total[{RATE}]))",
                        "lifecycle events published",
                    ),
                ],
                description="on_time, late (counted into the first open bucket), duplicate.",
            )
        )
    )
