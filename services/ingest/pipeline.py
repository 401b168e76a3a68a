"""The ingest pipeline: turns a request into the message that gets published."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from services.ingest.dedup import Claim, ClaimState, DuplicateWindow, MessageKey, message_id_for
from services.ingest.normalize import DEFAULT_CHANNEL, DEFAULT_MAX_TEXT_CHARS, validate
from services.ingest.pii import redact

DEFAULT_SOURCE = "api"


@dataclass(frozen=True)
class IncomingMessage:
    """A message as a client sent it, before any checks."""

    # Who sent it, as the transport authenticated it: the de-duplication namespace.
    caller: str
    conversation_id: str
    customer_id: str
    text: str
    channel: str = DEFAULT_CHANNEL
    source: str = DEFAULT_SOURCE
    external_id: str | None = None
    sent_at: datetime | None = None
    # The caller's Idempotency-Key for its request, and this message's position in a batch
    # (None for a single message): they name the message when external_id does not.
    idempotency_key: str | None = None
    batch_index: int | None = None


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
    # The message's de-duplication key and its state, None when nothing names the message
    # (no external_id, no Idempotency-Key): then message_id is random and it is never a
    # duplicate. An OWNED claim must be settled once its publish succeeded or failed.
    claim: Claim | None

    @property
    def duplicate(self) -> bool:
        """Already durably published under this key within the window: publish nothing."""
        return self.claim is not None and self.claim.state is ClaimState.COMMITTED

    @property
    def owned(self) -> bool:
        """This call is the one that must publish it."""
        return self.claim is None or self.claim.state is ClaimState.OWNED


def _utc_now() -> datetime:
    return datetime.now(UTC)


class IngestPipeline:
    """Validation -> normalization -> redaction -> id -> de-duplication claim, in that order.

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
        idempotency_key = request.idempotency_key or None
        text = validate(
            caller=request.caller,
            conversation_id=request.conversation_id,
            customer_id=request.customer_id,
            text=request.text,
            channel=channel,
            source=source,
            external_id=external_id,
            idempotency_key=idempotency_key,
            sent_at=request.sent_at,
            max_text_chars=self._max_text_chars,
        )
        redaction = redact(text)
        key = _message_key(
            request.caller, source, external_id, idempotency_key, request.batch_index
        )
        message_id = message_id_for(key)
        claim = self._dedup.claim(key, message_id) if key is not None else None
        return PreparedMessage(
            message_id=claim.message_id if claim is not None else message_id,
            conversation_id=request.conversation_id,
            customer_id=request.customer_id,
            text=redaction.text,
            channel=channel,
            source=source,
            external_id=external_id,
            sent_at=request.sent_at.astimezone(UTC) if request.sent_at else None,
            received_at=self._clock().astimezone(UTC),
            redactions=redaction.kinds,
            claim=claim,
        )


def _message_key(
    caller: str,
    source: str,
    external_id: str | None,
    idempotency_key: str | None,
    batch_index: int | None,
) -> MessageKey | None:
    """The source's id names the message across requests; failing that, the caller's
    Idempotency-Key names it within its request; failing both, nothing does."""
    if external_id is not None:
        return MessageKey.from_source(caller, source, external_id)
    if idempotency_key is not None:
        return MessageKey.from_idempotency_key(caller, idempotency_key, batch_index)
    return None
