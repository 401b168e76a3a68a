"""Everything watching one series, fed one closed bucket at a time: a detector and an incident
tracker per alert kind. The bucket closer calls :meth:`SeriesMonitor.observe`, and so do the
benchmarks: what they measure is what the service decides.

* Negative share (:mod:`.negative_share`): the share of negative messages spiked.
* Volume (:mod:`.volume`): the number of messages surged. The negative messages are watched by
  the same detector on their own counts: whether they surged with the traffic is the volume
  alert's severity (a flood of complaints, not only of traffic) and their expectation is part
  of its evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.alert.alerts import AlertKind
from services.alert.detection.counts import BucketCounts
from services.alert.detection.incidents import Decision, IncidentRules, IncidentTracker
from services.alert.detection.negative_share import NegativeShareConfig, NegativeShareDetector
from services.alert.detection.volume import VolumeConfig, VolumeJudgement, VolumeSurgeDetector


@dataclass(frozen=True)
class MonitorConfig:
    negative_share: NegativeShareConfig = field(default_factory=NegativeShareConfig)
    negative_share_incidents: IncidentRules = field(default_factory=IncidentRules)
    volume: VolumeConfig = field(default_factory=VolumeConfig)
    volume_incidents: IncidentRules = field(default_factory=IncidentRules)


@dataclass(frozen=True)
class KindVerdict:
    """One kind's conclusion about one bucket, and what it means for that kind's incident."""

    kind: AlertKind
    score: float  # in [0, 1]
    anomalous: bool  # the bucket met this kind's condition (alone or as its sustained window)
    sustained: bool  # ... as the sustained window
    decision: Decision
    # What this kind's detector expected of the count it judges (negatives for the share,
    # messages for the volume), and the fewest that would have made the bucket anomalous alone.
    expected: float
    threshold: int
    expected_negatives: float  # negatives expected in this bucket, as this kind sees them
    negatives_surged: bool = False  # volume: the negative messages surged too


@dataclass(frozen=True)
class SeriesVerdict:
    counts: BucketCounts
    negative_share: KindVerdict
    volume: KindVerdict

    @property
    def by_kind(self) -> tuple[KindVerdict, KindVerdict]:
        return (self.negative_share, self.volume)


class VolumeWatch:
    """The volume kind of one series: a surge detector and its incident tracker. Also what the
    NAB benchmark runs over each of its series."""

    def __init__(self, detector: VolumeSurgeDetector, tracker: IncidentTracker) -> None:
        self.detector = detector
        self.tracker = tracker

    @classmethod
    def fresh(cls, config: VolumeConfig, rules: IncidentRules) -> VolumeWatch:
        return cls(VolumeSurgeDetector(config), IncidentTracker(rules))

    def observe(self, count: float, at: datetime) -> tuple[VolumeJudgement, Decision]:
        judgement = self.detector.judge(count, at)
        return judgement, self.tracker.step(judgement.surged)


class SeriesMonitor:
    def __init__(self, config: MonitorConfig) -> None:
        self.config = config
        self._share = NegativeShareDetector(config.negative_share)
        self._share_incident = IncidentTracker(config.negative_share_incidents)
        self._volume = VolumeWatch.fresh(config.volume, config.volume_incidents)
        self._negative_volume = VolumeSurgeDetector(config.volume)

    def observe(self, counts: BucketCounts) -> SeriesVerdict:
        """Judge one closed bucket for every kind, then learn from it."""
        share = self._share.judge(counts)
        volume, volume_decision = self._volume.observe(counts.total, counts.bucket_start)
        negatives = self._negative_volume.judge(counts.negative, counts.bucket_start)
        return SeriesVerdict(
            counts=counts,
            negative_share=KindVerdict(
                kind=AlertKind.NEGATIVE_SHARE,
                score=share.score,
                anomalous=share.spiked,
                sustained=share.sustained,
                decision=self._share_incident.step(share.spiked),
                expected=share.expected_negatives,
                threshold=self._share.spike_threshold(share.expected_negatives),
                expected_negatives=share.expected_negatives,
            ),
            volume=KindVerdict(
                kind=AlertKind.VOLUME,
                score=volume.score,
                anomalous=volume.surged,
                sustained=volume.sustained,
                decision=volume_decision,
                expected=volume.expected,
                threshold=volume.surge_threshold,
                expected_negatives=negatives.expected,
                negatives_surged=negatives.surged,
            ),
        )

    def to_state(self) -> dict[str, object]:
        """What every detector has learned and where every incident stands, JSON-serializable."""
        return {
            "negative_share": self._share.to_state(),
            "negative_share_incident": self._share_incident.to_state(),
            "volume": self._volume.detector.to_state(),
            "volume_incident": self._volume.tracker.to_state(),
            "negative_volume": self._negative_volume.to_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, object], config: MonitorConfig) -> SeriesMonitor:
        """Continue from :meth:`to_state` output; ValueError, KeyError or TypeError if it is
        not one. The configuration is the caller's: a tuning change applies to every series.
        A kind the state has no section for (one added since it was written) starts learning
        now."""
        monitor = cls(config)
        monitor._share = NegativeShareDetector.from_state(
            _section(state, "negative_share"), config.negative_share
        )
        monitor._share_incident = IncidentTracker.from_state(
            _section(state, "negative_share_incident"), config.negative_share_incidents
        )
        if "volume" in state:
            monitor._volume = VolumeWatch(
                VolumeSurgeDetector.from_state(_section(state, "volume"), config.volume),
                IncidentTracker.from_state(
                    _section(state, "volume_incident"), config.volume_incidents
                ),
            )
            monitor._negative_volume = VolumeSurgeDetector.from_state(
                _section(state, "negative_volume"), config.volume
            )
        return monitor


def _section(state: dict[str, object], name: str) -> dict[str, object]:
    section = state[name]
    if not isinstance(section, dict):
        raise ValueError(f"monitor state: {name} is not an object")
    return section
