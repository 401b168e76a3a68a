"""How bad an incident is, from how sure the detector is and how many customers it touches."""

from dataclasses import dataclass

from services.alert.alerts import Severity


@dataclass(frozen=True)
class SeverityPolicy:
    critical_score: float
    critical_negatives: int

    def grade(self, score: float, negative_count: int) -> Severity:
        # Both: a near-certain spike of three messages is not worth paging anyone for.
        if score >= self.critical_score and negative_count >= self.critical_negatives:
            return Severity.CRITICAL
        return Severity.WARNING
