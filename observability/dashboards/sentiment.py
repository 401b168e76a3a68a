"""Sentiment monitor: negative ratio by topic, the alerts the spike detector raises."""

from grafana_foundation_sdk.builders.dashboard import AnnotationQuery, Dashboard

from observability.dashboards.panels import (
    PROMETHEUS,
    RATE,
    big_number,
    dashboard,
    graph,
    pending,
    query,
    row,
)


def build() -> Dashboard:
    return (
        dashboard(
            "carepulse-sentiment",
            "CarePulse / Sentiment monitor",
            "Negative sentiment by topic and the spikes the alert service detects.",
        )
        .annotation(
            AnnotationQuery()
            .name("Alerts opened")
            .datasource(PROMETHEUS)
            .enable(True)
            .icon_color("red")
            .expr("sum by (topic, severity) (increase(carepulse_alerts_opened_total[1m])) > 0")
        )
        .annotation(
            AnnotationQuery()
            .name("Prometheus alerts firing")
            .datasource(PROMETHEUS)
            .enable(True)
            .icon_color("orange")
            .expr('ALERTS{alertstate="firing"}')
        )
        .with_row(row("Now"))
        .with_panel(
            big_number(
                "Open alerts",
                "none",
                "sum(carepulse_alerts_open)",
                description="Firing or acknowledged, not yet resolved.",
            )
        )
        .with_panel(
            big_number(
                "Alerts opened, 24 h",
                "none",
                "sum(increase(carepulse_alerts_opened_total[24h]))",
            )
        )
        .with_panel(
            big_number(
                "Buckets scored per second",
                "ops",
                f"sum(rate(carepulse_alert_buckets_closed_total[{RATE}]))",
                description="Time buckets fed to the per-topic spike monitors.",
            )
        )
        .with_panel(
            big_number(
                "Open operator streams",
                "none",
                "sum(carepulse_alert_open_streams)",
            )
        )
        .with_row(row("By topic"))
        .with_panel(
            pending(
                graph(
                    "Negative ratio by topic",
                    "percentunit",
                    [query("max by (topic) (carepulse_alert_negative_ratio)", "{{topic}}")],
                    width=24,
                ),
                "carepulse_alert_negative_ratio",
                "Share of negative messages in each topic's last closed bucket; red marks are "
                "the alerts opened.",
            )
        )
        .with_panel(
            graph(
                "Alerts opened by topic and severity",
                "short",
                [
                    query(
                        "sum by (topic, severity) "
                        f"(increase(carepulse_alerts_opened_total[{RATE}]))",
                        "{{topic}} ({{severity}})",
                    )
                ],
                stacked=True,
            )
        )
        .with_panel(
            pending(
                graph(
                    "Time to acknowledge",
                    "s",
                    [
                        query(
                            "sum by (severity) (rate("
                            f"carepulse_alert_time_to_acknowledge_seconds_sum[{RATE}])) / "
                            "sum by (severity) (rate("
                            f"carepulse_alert_time_to_acknowledge_seconds_count[{RATE}]))",
                            "mean {{severity}}",
                        )
                    ],
                ),
                "carepulse_alert_time_to_acknowledge_seconds",
                "From an alert opening to an operator's acknowledgement.",
            )
        )
    )
