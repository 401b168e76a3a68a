"""How the latency budget summarizes the chats' hops."""

from pathlib import Path

from benchmarks.system.chat_hops import chat_hops, read_spans
from benchmarks.system.latency_budget import budget

TRACES = Path(__file__).parent / "chat_traces"


def test_each_hops_share_is_its_p50_over_the_p50_total_and_cache_answers_are_counted() -> None:
    chats, _ = chat_hops(read_spans(TRACES))  # totals 40 ms (computed) and 20 ms (cached)

    summary = budget(chats)

    assert (summary["chats"], summary["total_p50_ms"], summary["total_p95_ms"]) == (2, 20, 40)
    ingest = summary["hops"]["ingest.kafka_ack"]  # 10 and 8 ms
    assert (ingest["p50_ms"], ingest["mean_ms"], ingest["share_of_p50_total"]) == (8, 9, 0.4)
    assert summary["classify_cache_answered"] == 1
    assert summary["classify_batch_texts_mean"] == 1  # only the computed chat's batch counts
