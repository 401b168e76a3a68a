"""Errors the alert domain raises; the gRPC servicer maps each to a status code once."""


class AlertNotFound(LookupError):
    def __init__(self, alert_id: str) -> None:
        super().__init__(f"no alert with id {alert_id!r}")
        self.alert_id = alert_id


class AlertAlreadyResolved(Exception):
    """A resolved alert is history: it can no longer be acknowledged."""

    def __init__(self, alert_id: str) -> None:
        super().__init__(f"alert {alert_id!r} is resolved and cannot be acknowledged")
        self.alert_id = alert_id


class InvalidPageToken(ValueError):
    def __init__(self) -> None:
        super().__init__("page_token: not a token returned by a previous ListAlerts call")
