"""An alert's series: each closed bucket's counts and verdict, kept for a while, served by id."""

from datetime import timedelta

import grpc
import pytest
from carepulse.v1 import alert_pb2

from services.alert.detection.negative_share import NegativeShareDetector
from services.alert.detection.surprise import overdispersed_decades, surprise_score
from services.alert.detection.volume import VolumeSurgeDetector
from services.alert.server import SERIES_CONTEXT_BUCKETS, AlertServicer
from tests.unit.alert.conftest import CARD, HISTORY, START, WIDTH, Pipeline
from tests.unit.alert.test_server import Aborted, FakeContext


@pytest.fixture
def servicer(pipeline: Pipeline) -> AlertServicer:
    return AlertServicer(pipeline.store, pipeline.lifecycle, pipeline.feed, bucket_width=WIDTH)


def test_the_series_shows_the_spike_above_its_band_after_quiet_buckets(
    pipeline: Pipeline, servicer: AlertServicer
) -> None:
    pipeline.baseline(buckets=40)
    (alert,) = pipeline.bucket(negatives=30, total=40).alerts_opened
    for _ in range(3):
        pipeline.bucket(negatives=1, total=20)

    series = servicer.GetAlertSeries(
        alert_pb2.GetAlertSeriesRequest(alert_id=alert.alert_id), FakeContext()
    )

    assert series.alert_id == alert.alert_id
    assert series.bucket_width.ToTimedelta() == WIDTH
    starts = [bucket.start.ToDatetime().replace(tzinfo=START.tzinfo) for bucket in series.buckets]
    window_start = alert.evidence.window_start
    assert starts[0] == window_start - SERIES_CONTEXT_BUCKETS * WIDTH, "context before, no more"
    assert starts == [starts[0] + i * WIDTH for i in range(len(starts))], "every bucket, in order"
    spiking = series.buckets[starts.index(window_start)]
    assert spiking.spiked
    assert (spiking.negative_count, spiking.total_count) == (30, 40)
    assert spiking.negative_count >= spiking.spike_threshold_negatives
    quiet = [bucket for bucket in series.buckets if bucket.start != spiking.start]
    assert len(quiet) == SERIES_CONTEXT_BUCKETS + 3
    assert not any(bucket.spiked for bucket in quiet)
    assert all(0 < b.expected_negatives <= b.spike_threshold_negatives for b in quiet)
    assert all(b.negative_count < b.spike_threshold_negatives for b in quiet)


def test_an_unknown_alert_has_no_series(servicer: AlertServicer) -> None:
    request = alert_pb2.GetAlertSeriesRequest(alert_id="no-such-alert")
    with pytest.raises(Aborted) as aborted:
        servicer.GetAlertSeries(request, FakeContext())
    assert aborted.value.code is grpc.StatusCode.NOT_FOUND


def test_verdicts_older_than_the_history_are_forgotten(pipeline: Pipeline) -> None:
    buckets = int(HISTORY / WIDTH) + 15
    pipeline.baseline(buckets=buckets)

    kept = pipeline.store.judged_buckets(CARD, START, START + 2 * buckets * WIDTH, limit=1000)

    last = START + (buckets - 1) * WIDTH
    assert kept[-1].start == last
    assert kept[0].start == last - HISTORY
    assert len(kept) == int(HISTORY / WIDTH) + 1


def test_verdicts_survive_a_restart_with_the_rest_of_the_series(pipeline: Pipeline) -> None:
    pipeline.baseline(buckets=5)
    restarted = pipeline.restarted()
    restarted.baseline(buckets=5)

    kept = restarted.store.judged_buckets(CARD, START, START + timedelta(hours=1), limit=100)

    assert [b.start for b in kept] == [START + i * WIDTH for i in range(10)]
    restarted.close()


@pytest.mark.parametrize("expected", [0.5, 1.0, 4.2, 37.0, 900.0, 25_000.0])
def test_the_spike_threshold_is_the_fewest_negatives_that_spike(expected: float) -> None:
    detector = NegativeShareDetector()
    config = detector.config
    count = detector.spike_threshold(expected)

    def spikes(negatives: int) -> bool:
        return (
            negatives >= config.min_negatives
            and negatives >= config.min_fold * expected
            and surprise_score(negatives, expected) >= config.threshold
        )

    assert spikes(count)
    assert not spikes(count - 1)


@pytest.mark.parametrize("expected", [0.5, 4.2, 37.0, 900.0, 25_000.0])
@pytest.mark.parametrize(("dispersion", "routine"), [(0.0, 3.0), (0.05, 3.0), (0.5, 7.5)])
def test_the_surge_threshold_is_the_fewest_messages_that_surge(
    expected: float, dispersion: float, routine: float
) -> None:
    detector = VolumeSurgeDetector()
    config = detector.config
    count = detector.surge_threshold(expected, dispersion, routine)

    def surges(messages: int) -> bool:
        return (
            messages >= config.min_count
            and messages >= config.min_fold * expected
            and overdispersed_decades(messages, expected, dispersion) - routine
            >= 10 * config.threshold
        )

    assert surges(count)
    assert not surges(count - 1)
