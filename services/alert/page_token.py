"""ListAlerts page tokens: an opaque, URL-safe encoding of the last alert a page returned."""

import base64
import json
from datetime import UTC, datetime

from services.alert.errors import InvalidPageToken
from services.alert.storage.alerts import PageCursor


def encode_page_token(cursor: PageCursor) -> str:
    raw = json.dumps([cursor.opened_at.isoformat(), cursor.alert_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")


def decode_page_token(token: str) -> PageCursor:
    """The cursor in `token`; InvalidPageToken for anything this module did not write."""
    try:
        padded = token + "=" * (-len(token) % 4)
        opened_at, alert_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        moment = datetime.fromisoformat(opened_at)
        # The store compares in UTC; an offset can push a valid local time out of range.
        moment.astimezone(UTC)
    except (ValueError, TypeError, UnicodeError, OverflowError) as error:  # binascii, JSON too
        raise InvalidPageToken() from error
    if moment.tzinfo is None or not isinstance(alert_id, str) or not alert_id:
        raise InvalidPageToken()
    return PageCursor(opened_at=moment, alert_id=alert_id)
