from dataclasses import replace
from datetime import datetime

from services.alert.alerts import SeriesKey
from services.alert.buckets import BucketTally
from tests.unit.alert.conftest import CARD, START, WIDTH, Pipeline


def _open_counts(pipeline: Pipeline, series: SeriesKey = CARD) -> dict[datetime, BucketTally]:
    with pipeline.store.transaction() as tx:
        return dict(tx.messages.open_buckets_through(series, START + 100 * WIDTH))


def test_redelivered_batch_changes_no_count(pipeline: Pipeline) -> None:
    batch = pipeline.observations(negatives=3, total=10)

    first = pipeline.count(batch)
    again = pipeline.count(batch)

    assert (first.counted, first.duplicates) == (10, 0)
    assert (again.counted, again.duplicates) == (0, 10)
    (tally,) = _open_counts(pipeline).values()
    assert (tally.negative, tally.total) == (3, 10)


def test_same_message_twice_in_one_batch_counts_once(pipeline: Pipeline) -> None:
    batch = pipeline.observations(negatives=1, total=1)

    result = pipeline.count(batch + batch)

    assert (result.counted, result.duplicates) == (1, 1)
    (tally,) = _open_counts(pipeline).values()
    assert tally.total == 1


def test_examples_are_negative_ids_and_at_most_five(pipeline: Pipeline) -> None:
    pipeline.count(pipeline.observations(negatives=8, total=10))
    pipeline.count(pipeline.observations(negatives=2, total=2))

    (tally,) = _open_counts(pipeline).values()
    assert tally.example_message_ids == ["m-1", "m-2", "m-3", "m-4", "m-5"]


def test_message_for_a_closed_bucket_counts_in_the_first_open_bucket(pipeline: Pipeline) -> None:
    pipeline.bucket(negatives=0, total=5)  # closes START's bucket
    late = [replace(o, received_at=START) for o in pipeline.observations(negatives=1, total=1)]

    result = pipeline.count(late)

    assert result.late == 1
    assert list(_open_counts(pipeline)) == [START + WIDTH]


def test_series_are_counted_apart(pipeline: Pipeline) -> None:
    email = SeriesKey(CARD.topic, "email")
    pipeline.count(pipeline.observations(negatives=1, total=2))
    pipeline.count(pipeline.observations(negatives=2, total=2, series=email))

    assert [t.total for t in _open_counts(pipeline).values()] == [2]
    assert [t.negative for t in _open_counts(pipeline, email).values()] == [2]


def test_one_batch_adds_to_open_buckets_and_opens_new_ones(pipeline: Pipeline) -> None:
    email = SeriesKey(CARD.topic, "email")
    pipeline.count(pipeline.observations(negatives=1, total=3))

    both = pipeline.observations(negatives=2, total=4) + pipeline.observations(
        negatives=1, total=1, series=email
    )
    pipeline.count(both)

    (card,) = _open_counts(pipeline).values()
    (by_email,) = _open_counts(pipeline, email).values()
    assert (card.negative, card.total) == (3, 7)
    assert (by_email.negative, by_email.total) == (1, 1)
