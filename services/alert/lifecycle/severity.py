"""How bad an incident is; each alert kind has its own measure."""

from dataclasses import dataclass

from services.alert.alerts import AlertKind, Severity


@dataclass(frozen=True)
class SeverityPolicy:
    critical_score: float
    critical_negatives: int

    def grade(
        self, kind: AlertKind, score: float, negative_count: int, negatives_surged: bool
    ) -> Severity:
        if kind is AlertKind.NEGATIVE_SHARE:
            # Both: a near-certain spike of three messages is not worth paging anyone for.
            critical = score >= self.critical_score and negative_count >= self.critical_negatives
        else:
            # A surge of traffic is news; a surge of complaints with it is an emergency.
            critical = negatives_surged
        return Severity.CRITICAL if critical else Severity.WARNING
