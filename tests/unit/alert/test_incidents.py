"""The incident rules (detection/incidents.py): one alert per incident, a cooldown between
incidents, resolution after enough quiet buckets."""

from services.alert.detection.incidents import Decision, IncidentRules, IncidentTracker

RULES = IncidentRules(cooldown_buckets=5, resolve_after_buckets=3)


def _decisions(anomalous: str) -> list[Decision]:
    """One decision per character: '#' an anomalous bucket, '.' a quiet one."""
    tracker = IncidentTracker(RULES)
    return [tracker.step(mark == "#") for mark in anomalous]


def test_an_incident_opens_once_and_goes_on_through_short_lulls() -> None:
    assert _decisions("##.#") == [
        Decision.OPEN,
        Decision.CONTINUE,
        Decision.CONTINUE,
        Decision.CONTINUE,
    ]


def test_it_resolves_on_the_last_of_its_quiet_buckets() -> None:
    assert _decisions("#...")[1:] == [Decision.CONTINUE, Decision.CONTINUE, Decision.RESOLVE]


def test_no_new_incident_opens_within_the_cooldown_of_the_last_one() -> None:
    decisions = _decisions("#...#.#")
    assert decisions[4] is Decision.NONE  # 4 buckets after the last opened
    assert decisions[6] is Decision.OPEN  # 6 after: cooled down


def test_a_restored_tracker_decides_as_the_original_would() -> None:
    original = IncidentTracker(RULES)
    for mark in "#..":
        original.step(mark == "#")
    restored = IncidentTracker.from_state(original.to_state(), RULES)
    assert [restored.step(False), restored.step(True)] == [
        original.step(False),
        original.step(True),
    ]
