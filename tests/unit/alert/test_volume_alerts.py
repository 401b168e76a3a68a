"""Volume surges through the service's pipeline: counted, judged, alerted, resolved, beside
negative-share spikes on the same series."""

from carepulse.v1 import events_pb2

from services.alert.alerts import AlertKind, AlertState, Severity
from services.alert.detection.negative_share import NegativeShareConfig
from services.alert.detection.volume import VolumeConfig
from services.alert.protobuf import to_alert_event
from tests.unit.alert.conftest import CARD, RULES, Pipeline

# Past the volume detector's warm-up: the series' traffic is known.
HISTORY = VolumeConfig().warmup_buckets + 30
# Each kind's sustained window still holds the incident for its length, then the quiet
# buckets count.
QUIET_BUCKETS_TO_RESOLVE = (
    max(VolumeConfig().sustained_buckets, NegativeShareConfig().sustained_buckets)
    + RULES.resolve_after_buckets
    + 1
)


def _by_kind(pipeline: Pipeline) -> dict[AlertKind, list[str]]:
    alerts: dict[AlertKind, list[str]] = {kind: [] for kind in AlertKind}
    for alert in pipeline.alerts():
        alerts[alert.kind].append(alert.alert_id)
    return alerts


def test_a_surge_of_all_traffic_opens_a_volume_alert_and_no_negative_share_one(
    pipeline: Pipeline,
) -> None:
    pipeline.baseline(buckets=HISTORY)
    surge_start = pipeline.clock.now

    opened = pipeline.bucket(negatives=10, total=200).alerts_opened  # 10x, same 5% share

    (alert,) = opened
    assert alert.kind is AlertKind.VOLUME
    assert alert.severity is Severity.WARNING
    evidence = alert.evidence
    assert (evidence.total_count, evidence.negative_count) == (200, 10)
    assert 10 < evidence.baseline_messages < 40
    assert evidence.window_start == surge_start
    assert _by_kind(pipeline)[AlertKind.NEGATIVE_SHARE] == []


def test_a_surge_of_complaints_is_critical_and_a_spike_too(pipeline: Pipeline) -> None:
    pipeline.baseline(buckets=HISTORY)

    opened = pipeline.bucket(negatives=150, total=200).alerts_opened

    kinds = {alert.kind: alert for alert in opened}
    assert set(kinds) == {AlertKind.VOLUME, AlertKind.NEGATIVE_SHARE}
    assert kinds[AlertKind.VOLUME].severity is Severity.CRITICAL
    assert kinds[AlertKind.VOLUME].alert_id != kinds[AlertKind.NEGATIVE_SHARE].alert_id


def test_each_kind_resolves_by_itself_and_its_events_say_which_kind_fired(
    pipeline: Pipeline,
) -> None:
    pipeline.baseline(buckets=HISTORY)
    pipeline.bucket(negatives=150, total=200)

    for _ in range(QUIET_BUCKETS_TO_RESOLVE):
        pipeline.bucket(negatives=1, total=20)

    assert {alert.state for alert in pipeline.alerts()} == {AlertState.RESOLVED}
    events = [to_alert_event(e.sequence, e.alert) for e in pipeline.store.events_after(0, 100)]
    fired = {(e.alert.kind, e.alert.state) for e in events}
    assert fired == {
        (kind, state)
        for kind in (events_pb2.ALERT_KIND_NEGATIVE_SHARE, events_pb2.ALERT_KIND_VOLUME)
        for state in (events_pb2.ALERT_STATE_FIRING, events_pb2.ALERT_STATE_RESOLVED)
    }


def test_the_series_charts_the_volume_band_beside_the_negative_one(pipeline: Pipeline) -> None:
    pipeline.baseline(buckets=HISTORY)
    (alert,) = pipeline.bucket(negatives=10, total=200).alerts_opened

    buckets = pipeline.store.judged_buckets(
        CARD, alert.evidence.window_start, alert.evidence.window_end, limit=10
    )

    (surging,) = buckets
    assert surging.surged and not surging.spiked
    assert surging.expected_messages < surging.surge_threshold_messages <= surging.total
