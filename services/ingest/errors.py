"""Errors the ingest domain raises; each transport maps them to its status code once."""


class InvalidMessage(ValueError):
    """The caller sent a message it must fix before retrying (HTTP 400, INVALID_ARGUMENT).

    `field` names the offending request field and `reason` says what is wrong with it,
    so the message reads as an instruction: "text: is longer than 4000 characters".
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
