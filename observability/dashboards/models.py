"""Models: classify's latency, batching, confidence and the label mix it predicts."""

from grafana_foundation_sdk.builders.dashboard import Dashboard

from observability.dashboards.panels import (
    RATE,
    dashboard,
    distribution,
    graph,
    latency,
    pending,
    query,
    row,
)

CLASSIFY_RPCS = 'job="classify", method=~"/carepulse.v1.ClassifyService/.*"'
RECOMMEND_RPCS = 'job="recommend", method="/carepulse.v1.RecommendService/Recommend"'


def build() -> Dashboard:
    return (
        dashboard(
            "carepulse-models",
            "CarePulse / Models",
            "classify (sentiment + intent) and recommend: latency, batching, confidence, labels.",
        )
        .with_row(row("Latency"))
        .with_panel(
            latency(
                "Classify RPC latency",
                "carepulse_grpc_server_handling_seconds",
                CLASSIFY_RPCS,
                "method",
                description="Queue wait + forward pass + decoding, as callers see it.",
            )
        )
        .with_panel(
            latency(
                "Recommend RPC latency",
                "carepulse_grpc_server_handling_seconds",
                RECOMMEND_RPCS,
                "method",
                description="Embedding the query and ranking the knowledge base.",
            )
        )
        .with_panel(
            pending(
                latency(
                    "Forward pass by model version and path",
                    "carepulse_classify_model_seconds",
                    "",
                    "model_version, forward",
                ),
                "carepulse_classify_model_seconds",
                "One batched forward pass (int8 ONNX Runtime or float TensorFlow).",
            )
        )
        .with_panel(
            pending(
                latency(
                    "Queue wait before a batch",
                    "carepulse_classify_queue_wait_seconds",
                    "",
                    "job",
                ),
                "carepulse_classify_queue_wait_seconds",
                "Time a text waits for its batch (CLASSIFY_MAX_WAIT_MS bounds it when idle).",
            )
        )
        .with_row(row("Batching"))
        .with_panel(
            pending(
                graph(
                    "Batch size",
                    "short",
                    [
                        query(
                            "sum(rate(carepulse_classify_batch_size_sum[$__rate_interval])) / "
                            "sum(rate(carepulse_classify_batch_size_count[$__rate_interval]))",
                            "mean texts per forward pass",
                        ),
                        query(
                            "histogram_quantile(0.95, sum by (le) "
                            "(rate(carepulse_classify_batch_size_bucket[$__rate_interval])))",
                            "p95",
                        ),
                    ],
                ),
                "carepulse_classify_batch_size",
                "Texts per forward pass; CLASSIFY_MAX_BATCH is the ceiling.",
            )
        )
        .with_panel(
            graph(
                "Classify throughput",
                "ops",
                [
                    query(
                        "sum by (method) (rate(carepulse_grpc_server_handled_total"
                        f"{{{CLASSIFY_RPCS}}}[{RATE}]))",
                        "{{method}}",
                    ),
                    query(
                        "sum(rate(carepulse_kafka_records_consumed_total"
                        f'{{job="classify"}}[{RATE}]))',
                        "messages.raw records",
                    ),
                ],
            )
        )
        .with_row(row("Predictions"))
        .with_panel(
            pending(
                distribution(
                    "Confidence of the predicted sentiment",
                    "carepulse_classify_confidence",
                    'head="sentiment"',
                    description="",
                ),
                "carepulse_classify_confidence",
                "A shift to lower confidence is the first sign of drift.",
            )
        )
        .with_panel(
            pending(
                distribution(
                    "Confidence of the predicted intent",
                    "carepulse_classify_confidence",
                    'head="intent"',
                    description="",
                ),
                "carepulse_classify_confidence",
                "77 Banking77 intents: lower confidences are normal here.",
            )
        )
        .with_panel(
            pending(
                graph(
                    "Sentiment mix",
                    "percentunit",
                    [
                        query(
                            "sum by (sentiment) (rate(carepulse_messages_classified_total"
                            f"[{RATE}])) / ignoring(sentiment) group_left "
                            f"sum(rate(carepulse_messages_classified_total[{RATE}]))",
                            "{{sentiment}}",
                        )
                    ],
                    stacked=True,
                ),
                "carepulse_messages_classified_total",
                "Label mix over time; compare with last week's to see drift.",
            )
        )
        .with_panel(
            pending(
                graph(
                    "Top intents",
                    "ops",
                    [
                        query(
                            "topk(10, sum by (intent) "
                            f"(rate(carepulse_messages_classified_total[{RATE}])))",
                            "{{intent}}",
                        )
                    ],
                ),
                "carepulse_messages_classified_total",
                "The ten most frequent intents.",
            )
        )
    )
