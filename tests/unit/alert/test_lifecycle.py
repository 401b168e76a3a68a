from dataclasses import replace

import pytest

from services.alert.alerts import AlertState, Severity
from services.alert.errors import AlertAlreadyResolved, AlertNotFound
from tests.unit.alert.conftest import (
    CARD,
    RULES,
    WIDTH,
    Pipeline,
)

QUIET_BUCKETS_TO_RESOLVE = RULES.resolve_after_buckets + RULES.cooldown_buckets + 2


def _spiking_pipeline(pipeline: Pipeline) -> str:
    pipeline.baseline()
    opened = pipeline.bucket(negatives=30, total=35).alerts_opened
    assert len(opened) == 1
    return opened[0].alert_id


def test_negative_spike_opens_a_firing_alert_with_evidence(pipeline: Pipeline) -> None:
    pipeline.baseline()
    spike_start = pipeline.clock.now

    pipeline.bucket(negatives=30, total=35)

    (alert,) = pipeline.alerts()
    assert alert.state is AlertState.FIRING
    assert alert.series == CARD
    assert alert.severity is Severity.WARNING
    evidence = alert.evidence
    assert (evidence.negative_count, evidence.total_count) == (30, 35)
    assert evidence.window_start == spike_start
    assert evidence.window_end == spike_start + WIDTH
    assert 0 < evidence.baseline_negatives < 5
    assert 0 < evidence.score <= 1
    assert 1 <= len(evidence.example_message_ids) <= 5


def test_steady_traffic_raises_no_alert(pipeline: Pipeline) -> None:
    pipeline.baseline()
    assert pipeline.alerts() == []


def test_spike_going_on_updates_the_alert_instead_of_opening_another(pipeline: Pipeline) -> None:
    alert_id = _spiking_pipeline(pipeline)

    later = [pipeline.bucket(negatives=40, total=42) for _ in range(3)]

    assert all(result.alerts_opened == [] for result in later)
    (alert,) = pipeline.alerts()
    assert alert.alert_id == alert_id
    assert alert.evidence.negative_count == 30 + 3 * 40
    assert alert.evidence.window_end == pipeline.clock.now
    assert alert.severity is Severity.CRITICAL  # 150 negatives at a near-certain score


def test_redelivered_spike_raises_no_second_alert(pipeline: Pipeline) -> None:
    pipeline.baseline()
    spike = pipeline.observations(negatives=30, total=35)
    pipeline.count(spike)
    pipeline.count(spike)  # redelivered before its bucket closed
    pipeline.next_bucket()
    pipeline.count(spike)  # and again after

    pipeline.next_bucket()

    (alert,) = pipeline.alerts()
    assert alert.evidence.negative_count == 30


def test_alert_resolves_by_itself_when_the_series_returns_to_baseline(
    pipeline: Pipeline,
) -> None:
    _spiking_pipeline(pipeline)

    for _ in range(QUIET_BUCKETS_TO_RESOLVE):
        pipeline.bucket(negatives=1, total=20)

    (alert,) = pipeline.alerts()
    assert alert.state is AlertState.RESOLVED
    assert alert.resolved_at is not None


def test_alert_resolves_when_the_series_goes_silent(pipeline: Pipeline) -> None:
    _spiking_pipeline(pipeline)

    # Nothing counted: the closer still feeds the monitor one empty bucket per interval.
    pipeline.clock.now += QUIET_BUCKETS_TO_RESOLVE * WIDTH
    pipeline.closer.close_due()

    (alert,) = pipeline.alerts()
    assert alert.state is AlertState.RESOLVED


def test_a_new_incident_after_resolution_opens_a_new_alert(pipeline: Pipeline) -> None:
    first = _spiking_pipeline(pipeline)
    pipeline.baseline()

    second = pipeline.bucket(negatives=30, total=35).alerts_opened

    assert [a.alert_id for a in second] != [first]
    assert [a.state for a in pipeline.alerts()] == [AlertState.FIRING, AlertState.RESOLVED]


def test_acknowledge_records_operator_note_and_time(pipeline: Pipeline) -> None:
    alert_id = _spiking_pipeline(pipeline)

    acked = pipeline.lifecycle.acknowledge(alert_id, "ana", "looking into it")

    assert acked.state is AlertState.ACKNOWLEDGED
    assert acked.acknowledgement is not None
    assert (acked.acknowledgement.operator, acked.acknowledgement.note) == (
        "ana",
        "looking into it",
    )
    assert acked.acknowledgement.at == pipeline.clock.now
    assert pipeline.store.get_alert(alert_id) == acked


def test_acknowledging_twice_keeps_the_first_acknowledgement(pipeline: Pipeline) -> None:
    alert_id = _spiking_pipeline(pipeline)
    first = pipeline.lifecycle.acknowledge(alert_id, "ana", "mine")
    events = pipeline.store.latest_sequence()

    again = pipeline.lifecycle.acknowledge(alert_id, "bo", "no, mine")

    assert again == first
    assert pipeline.store.latest_sequence() == events


def test_acknowledged_alert_still_resolves(pipeline: Pipeline) -> None:
    alert_id = _spiking_pipeline(pipeline)
    pipeline.lifecycle.acknowledge(alert_id, "ana", "")

    for _ in range(QUIET_BUCKETS_TO_RESOLVE):
        pipeline.bucket(negatives=1, total=20)

    resolved = pipeline.store.get_alert(alert_id)
    assert resolved is not None and resolved.state is AlertState.RESOLVED
    assert resolved.acknowledgement is not None


def test_acknowledging_an_unknown_alert_raises_not_found(pipeline: Pipeline) -> None:
    with pytest.raises(AlertNotFound):
        pipeline.lifecycle.acknowledge("no-such-alert", "ana", "")


def test_acknowledging_a_resolved_alert_is_refused(pipeline: Pipeline) -> None:
    alert_id = _spiking_pipeline(pipeline)
    for _ in range(QUIET_BUCKETS_TO_RESOLVE):
        pipeline.bucket(negatives=1, total=20)

    with pytest.raises(AlertAlreadyResolved):
        pipeline.lifecycle.acknowledge(alert_id, "ana", "")


def test_restarted_service_recovers_state_and_raises_no_second_alert(
    pipeline: Pipeline,
) -> None:
    alert_id = _spiking_pipeline(pipeline)

    restarted = pipeline.restarted()
    opened = [restarted.bucket(negatives=40, total=42).alerts_opened for _ in range(2)]

    assert opened == [[], []]
    (alert,) = restarted.alerts()
    assert alert.alert_id == alert_id
    assert alert.evidence.negative_count == 30 + 2 * 40
    restarted.close()


def test_restarted_service_resolves_the_alert_the_previous_one_opened(
    pipeline: Pipeline,
) -> None:
    alert_id = _spiking_pipeline(pipeline)

    restarted = pipeline.restarted()
    for _ in range(QUIET_BUCKETS_TO_RESOLVE):
        restarted.bucket(negatives=1, total=20)

    (alert,) = restarted.alerts()
    assert (alert.alert_id, alert.state) == (alert_id, AlertState.RESOLVED)
    restarted.close()


def test_counts_committed_before_a_crash_are_closed_by_the_next_process(
    pipeline: Pipeline,
) -> None:
    pipeline.baseline()
    spike = pipeline.observations(negatives=30, total=35)
    pipeline.count(spike)  # ... then kill -9 before Kafka offsets were committed

    restarted = pipeline.restarted()
    assert restarted.count(spike).duplicates == 35  # the redelivery
    restarted.next_bucket()

    (alert,) = restarted.alerts()
    assert alert.evidence.negative_count == 30
    restarted.close()


def test_unreadable_monitor_state_is_relearned_instead_of_stopping_the_series(
    pipeline: Pipeline,
) -> None:
    pipeline.baseline(buckets=2)
    with pipeline.store.transaction() as tx:
        state = tx.series.state(CARD)
        assert state is not None
        tx.series.save_state(CARD, replace(state, monitor_state={"version": 99}))

    pipeline.bucket(negatives=30, total=35)

    assert len(pipeline.alerts()) == 1
