"""Models: classify's latency, batching, cache, confidence and the label mix it predicts."""

from grafana_foundation_sdk.builders.dashboard import Dashboard

from observability.dashboards.panels import (
    RATE,
    dashboard,
    distribution,
    graph,
    latency,
    query,
    row,
)

CLASSIFY_RPCS = 'job="classify", method=~"/carepulse.v1.ClassifyService/.*"'
RECOMMEND_RPCS = 'job="recommend", method="/carepulse.v1.RecommendService/Recommend"'
# Each sentiment's share of the messages classified: the label mix.
SENTIMENT_SHARE = (
    f"sum by (sentiment) (rate(carepulse_messages_classified_total[{RATE}]))"
    " / ignoring(sentiment) group_left "
    f"sum(rate(carepulse_messages_classified_total[{RATE}]))"
)
# The same share a week ago, for drift.
SENTIMENT_SHARE_LAST_WEEK = (
    f"sum by (sentiment) (rate(carepulse_messages_classified_total[{RATE}] offset 1w))"
    " / ignoring(sentiment) group_left "
    f"sum(rate(carepulse_messages_classified_total[{RATE}] offset 1w))"
)


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
            latency(
                "Forward pass by model version and path",
                "carepulse_classify_model_seconds",
                'job="classify"',
                "model_version, forward",
                description="One micro-batch through the encoder and both heads (int8 ONNX "
                "Runtime or float TensorFlow); explanations are left out.",
            )
        )
        .with_panel(
            latency(
                "Queue wait before a batch",
                "carepulse_classify_queue_wait_seconds",
                'job="classify"',
                "job",
                description="From a caller's texts queued to the start of their micro-batch "
                "(CLASSIFY_MAX_WAIT_MS bounds it when idle).",
            )
        )
        .with_row(row("Batching and cache"))
        .with_panel(
            graph(
                "Batch size",
                "short",
                [
                    query(
                        f"sum(rate(carepulse_classify_batch_size_sum[{RATE}])) / "
                        f"sum(rate(carepulse_classify_batch_size_count[{RATE}]))",
                        "mean texts per forward pass",
                    ),
                    query(
                        "histogram_quantile(0.95, sum by (le) "
                        f"(rate(carepulse_classify_batch_size_bucket[{RATE}])))",
                        "p95",
                    ),
                ],
                description="Distinct texts per micro-batch; CLASSIFY_MAX_BATCH is the ceiling.",
            )
        )
        .with_panel(
            graph(
                "Prediction cache hit ratio",
                "percentunit",
                [
                    query(
                        "sum(rate(carepulse_classify_cache_lookups_total"
                        f'{{result="hit"}}[{RATE}])) / '
                        f"sum(rate(carepulse_classify_cache_lookups_total[{RATE}]))",
                        "hits",
                    )
                ],
                description="A chat's message is classified once: its Kafka copy is a hit.",
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
                width=24,
            )
        )
        .with_row(row("Predictions"))
        .with_panel(
            distribution(
                "Confidence of the predicted sentiment",
                "carepulse_classify_confidence",
                'head="sentiment"',
                description="A shift to lower confidence is the first sign of drift.",
            )
        )
        .with_panel(
            distribution(
                "Confidence of the predicted intent",
                "carepulse_classify_confidence",
                'head="intent"',
                description="77 Banking77 intents: lower confidences are normal here.",
            )
        )
        .with_panel(
            graph(
                "Sentiment mix",
                "percentunit",
                [query(SENTIMENT_SHARE, "{{sentiment}}")],
                description="Share of each predicted sentiment in the messages classified.",
                stacked=True,
            )
        )
        .with_panel(
            graph(
                "Sentiment mix drift against last week",
                "percentunit",
                [query(f"({SENTIMENT_SHARE}) - ({SENTIMENT_SHARE_LAST_WEEK})", "{{sentiment}}")],
                description="Each sentiment's share now minus its share at the same time a "
                "week ago; a lasting gap is drift (of the customers or of the model).",
            )
        )
        .with_panel(
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
                description="The ten most frequent predicted intents.",
                width=24,
            )
        )
    )
