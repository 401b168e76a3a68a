"""The dispatcher's series exist before its first event, so increase() and alerts see it."""

from prometheus_client import REGISTRY

from services.alert.notification.notifier import NotificationDispatcher, RetryPolicy


class _Destination:
    name = "unit-destination"
    kind = "unit-kind"

    def deliver(self, sequence: int, alert: object) -> None:
        raise AssertionError("nothing is delivered in this test")


def test_a_destinations_attempt_and_dead_letter_series_start_at_zero() -> None:
    NotificationDispatcher(
        queue=object(),  # type: ignore[arg-type]  # never read: nothing is delivered
        destination=_Destination(),  # type: ignore[arg-type]
        policy=RetryPolicy(),
        dead_letters=object(),  # type: ignore[arg-type]
    )

    for outcome in ("delivered", "failed"):
        labels = {"kind": "unit-kind", "outcome": outcome}
        assert REGISTRY.get_sample_value("carepulse_alert_notification_attempts_total", labels) == 0
    assert (
        REGISTRY.get_sample_value(
            "carepulse_alert_notifications_dead_lettered_total", {"kind": "unit-kind"}
        )
        == 0
    )
