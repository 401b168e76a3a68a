"""How the latency budget splits a chat into hops, on spans shaped as the stack exports them.

chat_traces/ holds one file per process, written by hand from real exported spans with round
times: chat a... uses every hop (its text computed in a micro-batch it shared with the Kafka
consumer), chat d... was answered from classify's cache, chat e... lost recommend's server
span, chat f... was refused with a 503; plus noise (health checks, the consumer's own spans).
"""

from pathlib import Path

import pytest

from benchmarks.system.chat_hops import HOPS, chat_hops, read_spans

TRACES = Path(__file__).parent / "chat_traces"


def test_a_chat_is_split_into_every_hop_from_its_spans() -> None:
    chats, _ = chat_hops(read_spans(TRACES))

    first = chats[0]
    assert first.trace_id == "0x" + "a" * 32
    assert first.ms == {
        "total": 40.0,
        "gateway.own": 6.0,
        "gateway.before_upstreams": 1.0,
        "gateway.between_upstreams": 1.0,
        "gateway.after_upstreams": 4.0,
        "ingest.rpc": 12.0,
        "ingest.network": 1.0,
        "ingest.server": 11.0,
        "ingest.prepare": 0.5,
        "ingest.kafka_send": 0.5,
        "ingest.kafka_ack": 10.0,
        "classify.rpc": 14.0,
        "classify.network": 1.0,
        "classify.server": 13.0,
        "classify.queue_wait": 5.0,
        "classify.forward": 6.0,
        "classify.rest": 2.0,
        "recommend.rpc": 8.0,
        "recommend.network": 1.0,
        "recommend.server": 7.0,
        "recommend.rank": 4.0,
        "recommend.rest": 3.0,
    }
    assert (first.cache_answered, first.batch_texts) == (False, 1)


def test_the_gateway_and_the_three_rpcs_add_up_to_the_total() -> None:
    chats, _ = chat_hops(read_spans(TRACES))

    parts = ("gateway.own", "ingest.rpc", "classify.rpc", "recommend.rpc")
    for chat in chats:
        assert sum(chat.ms[part] for part in parts) == pytest.approx(chat.ms["total"])


def test_a_text_classify_had_cached_has_no_queue_wait_and_no_forward() -> None:
    chats, _ = chat_hops(read_spans(TRACES))

    cached = chats[1]
    assert cached.trace_id == "0x" + "d" * 32
    assert cached.cache_answered
    assert cached.batch_texts == 0
    assert (cached.ms["classify.queue_wait"], cached.ms["classify.forward"]) == (0, 0)
    assert cached.ms["classify.rest"] == cached.ms["classify.server"] == 1.0


def test_a_trace_missing_a_span_is_counted_apart_and_a_failed_chat_is_left_out() -> None:
    chats, incomplete = chat_hops(read_spans(TRACES))

    assert [chat.trace_id[2:3] for chat in chats] == ["a", "d"]  # oldest first
    assert incomplete == 1  # e: no recommend server span; f (503) is not a chat answered
    assert all(set(chat.ms) == set(HOPS) for chat in chats)


def test_a_process_without_a_span_file_contributes_no_spans(tmp_path: Path) -> None:
    (tmp_path / "gateway.jsonl").write_text((TRACES / "gateway.jsonl").read_text())

    chats, incomplete = chat_hops(read_spans(tmp_path))

    assert chats == []
    assert incomplete == 3  # every chat answered with 200 lacks its servers' spans
