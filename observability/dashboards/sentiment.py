"""Sentiment monitor: negative ratio by topic, the alerts the spike detector raises, what
customers write about and whether the suggestions help."""

from grafana_foundation_sdk.builders.dashboard import AnnotationQuery, Dashboard

from observability.dashboards.panels import (
    PROMETHEUS,
    RATE,
    big_number,
    dashboard,
    graph,
    latency,
    query,
    row,
)

# increase() needs two samples, and a topic's first alert since the alert service started
# creates its series already at 1: a series that did not exist a minute ago is an alert too.
ALERTS_OPENED = (
    "sum by (topic, severity) (increase(carepulse_alerts_opened_total[1m])) > 0"
    " or sum by (topic, severity) "
    "(carepulse_alerts_opened_total unless carepulse_alerts_opened_total offset 1m)"
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
            .expr(ALERTS_OPENED)
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
            graph(
                "Negative ratio by topic",
                "percentunit",
                [query("max by (topic) (carepulse_alert_negative_ratio)", "{{topic}}")],
                description="Share of negative messages in each topic's last closed bucket; "
                "red marks are the alerts opened, orange ones Prometheus alerts firing.",
                width=24,
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
            latency(
                "Time to acknowledge",
                "carepulse_alert_time_to_acknowledge_seconds",
                'job="alert"',
                "severity",
                description="From an alert opening to an operator's acknowledgement.",
            )
        )
        .with_row(row("Messages and suggestions"))
        .with_panel(
            graph(
                "Messages by sentiment and intent",
                "ops",
                [
                    query(
                        "topk(15, sum by (sentiment, intent) "
                        f"(rate(carepulse_messages_classified_total[{RATE}])))",
                        "{{sentiment}}: {{intent}}",
                    )
                ],
                description="The fifteen most frequent pairs of predicted sentiment and intent.",
                stacked=True,
            )
        )
        .with_panel(
            graph(
                "Suggestion helpfulness",
                "percentunit",
                [
                    query(
                        'sum(rate(carepulse_recommend_suggestion_votes_total{verdict="helpful"}'
                        f"[{RATE}])) / "
                        f"sum(rate(carepulse_recommend_suggestion_votes_total[{RATE}]))",
                        "helpful share",
                    )
                ],
                description="Share of counted votes on suggested articles that said helpful.",
            )
        )
        .with_panel(
            graph(
                "Suggestion feedback by outcome",
                "ops",
                [
                    query(
                        "sum by (outcome) "
                        f"(rate(carepulse_recommend_feedback_events_total[{RATE}]))",
                        "{{outcome}}",
                    )
                ],
                description="Votes on suggested articles: counted into the ranking, duplicate, "
                "or refused (unknown message, article not suggested to that customer).",
            )
        )
    )
