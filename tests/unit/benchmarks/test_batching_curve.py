"""How the batching curve reads the engine's batch sizes and judges a rate."""

from benchmarks.system.batching_curve import Answer, BatchSizes, rate_row
from services.classify.metrics import BATCH_SIZE


def test_batch_sizes_are_read_from_the_engines_histogram_between_two_snapshots() -> None:
    before = BatchSizes.now()
    for size in (1, 1, 4, 10):
        BATCH_SIZE.observe(size)

    delta = BatchSizes.now() - before

    assert delta == BatchSizes(micro_batches=4, texts=16, of_one_text=2)


def _answers(count: int, every_s: float, latency_s: float) -> list[Answer]:
    return [Answer(0.0, latency_s, i * every_s + latency_s) for i in range(count)]


def test_a_rate_the_engine_keeps_up_with_is_not_saturated() -> None:
    row = rate_row(10, _answers(100, 0.1, 0.02), BatchSizes(100, 100, 100))

    assert row["achieved_texts_per_s"] == 10.0  # 99 intervals of 0.1 s between answers
    assert (row["p50_ms"], row["p99_ms"]) == (20.0, 20.0)
    assert (row["mean_batch_texts"], row["share_of_batches_of_one"]) == (1.0, 1.0)
    assert row["saturated"] is False


def test_a_rate_answered_slower_than_offered_is_saturated() -> None:
    # Offered 200/s for a second; answered at 100/s, each later than the one before.
    answers = [Answer(0.0, (i * 0.01) - (i * 0.005), i * 0.01) for i in range(1, 201)]

    row = rate_row(200, answers, BatchSizes(20, 200, 0))

    assert row["achieved_texts_per_s"] == 100.0
    assert row["mean_batch_texts"] == 10.0
    assert row["share_of_batches_of_one"] == 0.0
    assert row["saturated"] is True
