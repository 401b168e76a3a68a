"""The ingest pipeline: turns a request into the message that gets published."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from services.ingest.dedup import DuplicateWindow, message_id_for
from services.ingest.normalize import DEFAULT_CHANNEL, DEFAULT_MAX_TEXT_CHARS, validate
from services.ingest.pii import redact

DEFAULT_SOURCE = "api"


@dataclass(frozen=True)
class IncomingMessage:
    """A message as a client sent it, before any checks."""

    conversation_id: str
    customer_id: str
    text: str
    channel: str = DEFAULT_CHANNEL
    source: str = DEFAULT_SOURCE
    external_id: str | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class PreparedMessage:
    """A message ready to publish: valid, normalized, redacted, with a stable id."""

    message_id: str
    conversation_id: str
    customer_id: str
    text: str
    channel: str
    source: str
    external_id: str | None
    sent_at: datetime | None
    received_at: datetime
    redactions: tuple[str, ...]
    # True when the same source + external_id arrived within the de-duplication window;
    # message_id is then the earlier one's and the caller need not publish again.
    duplicate: bool


def _utc_now() -> datetime:
    return datetime.now(UTC)


class IngestPipeline:
    """Validation -> normalization -> redaction -> id -> de-duplication, in that order.

    Redaction runs on the normalized text, so full-width digits or zero-width spaces
    cannot hide a card number from it.
    """

    def __init__(
        self,
        dedup: DuplicateWindow,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._dedup = dedup
        self._max_text_chars = max_text_chars
        self._clock = clock

    def prepare(self, request: IncomingMessage) -> PreparedMessage:
        """Raise InvalidMessage if the request is unusable; otherwise prepare it."""
        # Unset proto3 strings arrive as "", so empty means "use the default" here.
        channel = request.channel or DEFAULT_CHANNEL
        source = request.source or DEFAULT_SOURCE
        external_id = request.external_id or None
        text = validate(
            conversation_id=request.conversation_id,
            customer_id=request.customer_id,
            text=request.text,
            channel=channel,
            source=source,
            external_id=external_id,
            sent_at=request.sent_at,
            max_text_chars=self._max_text_chars,
        )
        redaction = redact(text)
        message_id = message_id_for(source, external_id)
        earlier_id = None
        if external_id is not None:
            earlier_id = self._dedup.seen_or_remember(source, external_id, message_id)
        return PreparedMessage(
            message_id=earlier_id or message_id,
            conversation_id=request.conversation_id,
            customer_id=request.customer_id,
            text=redaction.text,
            channel=channel,
            source=source,
            external_id=external_id,
            sent_at=request.sent_at.astimezone(UTC) if request.sent_at else None,
            received_at=self._clock().astimezone(UTC),
            redactions=redaction.kinds,
            duplicate=earlier_id is not None,
        )
