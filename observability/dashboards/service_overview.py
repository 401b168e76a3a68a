"""Service overview: RED (rate, errors, duration) per gateway route and per gRPC method."""

from grafana_foundation_sdk.builders.dashboard import Dashboard

from observability.dashboards.panels import (
    RATE,
    big_number,
    dashboard,
    graph,
    latency,
    query,
    row,
)

CHAT = 'route="/v1/chat", method="POST"'
GRPC_JOBS = 'job=~"ingest|classify|recommend|alert"'
SERVER_ERRORS = 'code=~"UNKNOWN|INTERNAL|UNAVAILABLE|DATA_LOSS|DEADLINE_EXCEEDED"'


def build() -> Dashboard:
    return (
        dashboard(
            "carepulse-overview",
            "CarePulse / Service overview",
            "Rate, errors and duration of every gateway route and gRPC method; the chat SLOs.",
        )
        .with_row(row("Chat SLOs (30 days: 99.5% answered without a 5xx, 99% within 1 s)"))
        .with_panel(
            big_number(
                "Chat availability, 1 h",
                "percentunit",
                "1 - carepulse:chat_errors:ratio_rate1h",
                description="Share of POST /v1/chat answered without a 5xx. Objective: 99.5%.",
            )
        )
        .with_panel(
            big_number(
                "Chat within 1 s, 1 h",
                "percentunit",
                "1 - carepulse:chat_slow:ratio_rate1h",
                description="Share of POST /v1/chat answered within 1 s. Objective: 99%.",
            )
        )
        .with_panel(
            big_number(
                "Error budget burn rate (availability), 1 h",
                "x",
                "carepulse:chat_errors:ratio_rate1h / 0.005",
                description="1 spends the 30-day budget in 30 days; 14.4 pages.",
            )
        )
        .with_panel(
            big_number(
                "Targets down",
                "none",
                'count(up{job=~"gateway|ingest|classify|recommend|alert"} == 0) or vector(0)',
                description="Scrape targets Prometheus cannot reach.",
            )
        )
        .with_row(row("Gateway (HTTP)"))
        .with_panel(
            graph(
                "Requests by route",
                "reqps",
                [
                    query(
                        f"sum by (route, method) (rate(carepulse_gateway_requests_total[{RATE}]))",
                        "{{method}} {{route}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Error ratio by route (5xx)",
                "percentunit",
                [
                    query(
                        "sum by (route) (rate(carepulse_gateway_requests_total"
                        f'{{status=~"5.."}}[{RATE}])) / sum by (route) '
                        f"(rate(carepulse_gateway_requests_total[{RATE}]))",
                        "{{route}}",
                    )
                ],
            )
        )
        .with_panel(
            latency(
                "Latency by route",
                "carepulse_gateway_request_duration_seconds",
                'route!="/v1/alerts/stream"',
                "route",
                description="Alert streams are left out: their duration is their lifetime.",
            )
        )
        .with_panel(
            graph(
                "Rate-limited (429) by role",
                "reqps",
                [
                    query(
                        f"sum by (role) (rate(carepulse_gateway_rate_limited_total[{RATE}]))",
                        "{{role}}",
                    ),
                    query("sum(carepulse_gateway_open_alert_streams)", "open alert streams"),
                ],
            )
        )
        .with_row(row("gRPC services"))
        .with_panel(
            graph(
                "RPCs by method",
                "reqps",
                [
                    query(
                        "sum by (job, method) (rate(carepulse_grpc_server_handled_total"
                        f"{{{GRPC_JOBS}}}[{RATE}]))",
                        "{{method}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Server errors by method",
                "percentunit",
                [
                    query(
                        "sum by (method) (rate(carepulse_grpc_server_handled_total"
                        f"{{{GRPC_JOBS}, {SERVER_ERRORS}}}[{RATE}])) / sum by (method) "
                        f"(rate(carepulse_grpc_server_handled_total{{{GRPC_JOBS}}}[{RATE}]))",
                        "{{method}}",
                    ),
                    query(
                        "sum by (code) (rate(carepulse_grpc_server_handled_total"
                        f'{{{GRPC_JOBS}, code!="OK"}}[{RATE}])) / ignoring(code) group_left '
                        f"sum(rate(carepulse_grpc_server_handled_total{{{GRPC_JOBS}}}[{RATE}]))",
                        "all methods: {{code}}",
                    ),
                ],
                description="Codes that mean the server failed; refusals (RESOURCE_EXHAUSTED) "
                "and client errors are in the second series, by code.",
            )
        )
        .with_panel(
            latency(
                "Latency by method",
                "carepulse_grpc_server_handling_seconds",
                f'{GRPC_JOBS}, method!~".*/StreamAlerts"',
                "method",
                description="StreamAlerts is left out: its duration is the stream's lifetime.",
                width=24,
            )
        )
        .with_row(row("Every span (the collector's spanmetrics)"))
        .with_panel(
            latency(
                "Span duration by service",
                "traces_span_metrics_duration_milliseconds",
                'span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"',
                "service_name",
                unit="ms",
                description="Server and consumer spans of every service, from the traces.",
            )
        )
        .with_panel(
            graph(
                "Spans with errors by service",
                "percentunit",
                [
                    query(
                        "sum by (service_name) (rate(traces_span_metrics_calls_total"
                        f'{{status_code="STATUS_CODE_ERROR"}}[{RATE}])) / sum by (service_name) '
                        f"(rate(traces_span_metrics_calls_total[{RATE}]))",
                        "{{service_name}}",
                    )
                ],
            )
        )
    )
