"""gRPC AlertService: translates protobuf to store and lifecycle calls and back."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import grpc
from carepulse.v1 import alert_pb2, alert_pb2_grpc, events_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.alert.alerts import AlertState
from services.alert.errors import AlertAlreadyResolved, AlertNotFound, InvalidPageToken
from services.alert.lifecycle.alert_lifecycle import AlertLifecycle
from services.alert.notification.event_feed import EventFeed
from services.alert.page_token import decode_page_token, encode_page_token
from services.alert.protobuf import (
    STATES,
    to_alert_event,
    to_alert_message,
    to_judged_bucket_message,
)
from services.alert.storage.alerts import AlertQuery, PageCursor
from services.alert.storage.store import AlertStore
from services.alert.stream_slots import StreamSlots

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_NOTE_CHARS = 2000
MAX_OPERATOR_CHARS = 255
_STATES_BY_PROTO: dict[int, AlertState] = {value: state for state, value in STATES.items()}
# An alert's series: this many buckets before its window and after it, for context, and at
# most this many in all (the latest, for an incident longer than that).
SERIES_CONTEXT_BUCKETS = 30
MAX_SERIES_BUCKETS = 480
# Initial metadata sent once a stream holds its slot: the caller's proof that it is attached.
STREAM_ATTACHED = ("carepulse-stream", "attached")


class AlertServicer(alert_pb2_grpc.AlertServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        store: AlertStore,
        lifecycle: AlertLifecycle,
        feed: EventFeed,
        *,
        bucket_width: timedelta,
        stream_poll_s: float = 1.0,
        stream_batch: int = 100,
        max_streams: int = 8,
    ) -> None:
        self._store = store
        self._lifecycle = lifecycle
        self._feed = feed
        self._bucket_width = bucket_width
        self._stream_poll_s = stream_poll_s
        self._stream_batch = stream_batch
        self._stream_slots = StreamSlots(max_streams)

    def ListAlerts(
        self, request: alert_pb2.ListAlertsRequest, context: grpc.ServicerContext
    ) -> alert_pb2.ListAlertsResponse:
        if request.page_size < 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "page_size: must not be negative")
        page_size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        query = AlertQuery(
            state=self._state_filter(request.state, context),
            topic=request.topic or None,
            opened_after=_datetime(request, "opened_after"),
            opened_before=_datetime(request, "opened_before"),
        )
        cursor: PageCursor | None = None
        if request.page_token:
            try:
                cursor = decode_page_token(request.page_token)
            except InvalidPageToken as error:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        # One extra row tells whether another page exists without a COUNT query.
        alerts = self._store.list_alerts(query, cursor, page_size + 1)
        page = alerts[:page_size]
        next_token = ""
        if len(alerts) > page_size:
            last = page[-1]
            next_token = encode_page_token(PageCursor(last.opened_at, last.alert_id))
        return alert_pb2.ListAlertsResponse(
            alerts=[to_alert_message(alert) for alert in page], next_page_token=next_token
        )

    def StreamAlerts(
        self, request: alert_pb2.StreamAlertsRequest, context: grpc.ServicerContext
    ) -> Iterator[events_pb2.AlertEvent]:
        if request.after_sequence < 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "after_sequence: must not be negative")
        release = self._stream_slots.try_acquire()
        if release is None:
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED, "too many alert streams open; retry later"
            )
            return
        # On termination, cancelled or not: gRPC may never resume a cancelled generator.
        context.add_callback(release)
        try:
            context.send_initial_metadata((STREAM_ATTACHED,))
            yield from self._follow(request.after_sequence, context)
        finally:
            release()

    def _follow(self, last: int, context: grpc.ServicerContext) -> Iterator[events_pb2.AlertEvent]:
        # A cancelled client wakes its waiting stream at once instead of at the next poll.
        context.add_callback(self._feed.wake_waiters)
        while context.is_active() and not self._feed.closed:
            events = self._store.events_after(last, self._stream_batch)
            for event in events:
                yield to_alert_event(event.sequence, event.alert)
                last = event.sequence
            if len(events) < self._stream_batch:
                self._feed.wait_beyond(
                    last, self._stream_poll_s, give_up=lambda: not context.is_active()
                )

    def Acknowledge(
        self, request: alert_pb2.AcknowledgeRequest, context: grpc.ServicerContext
    ) -> events_pb2.Alert:
        if not request.alert_id:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "alert_id: required")
        operator = request.operator.strip()
        if not operator or len(operator) > MAX_OPERATOR_CHARS:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"operator: required, at most {MAX_OPERATOR_CHARS} characters",
            )
        if len(request.note) > MAX_NOTE_CHARS:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"note: at most {MAX_NOTE_CHARS} characters"
            )
        try:
            alert = self._lifecycle.acknowledge(request.alert_id, operator, request.note)
        except AlertNotFound as error:
            context.abort(grpc.StatusCode.NOT_FOUND, str(error))
        except AlertAlreadyResolved as error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        return to_alert_message(alert)

    def GetAlertSeries(
        self, request: alert_pb2.GetAlertSeriesRequest, context: grpc.ServicerContext
    ) -> alert_pb2.AlertSeries:
        alert = self._store.get_alert(request.alert_id) if request.alert_id else None
        if alert is None:
            _abort(context, grpc.StatusCode.NOT_FOUND, f"no alert {request.alert_id!r}")
        width = self._bucket_width
        end = alert.evidence.window_end + SERIES_CONTEXT_BUCKETS * width
        start = max(
            alert.evidence.window_start - SERIES_CONTEXT_BUCKETS * width,
            end - MAX_SERIES_BUCKETS * width,
        )
        buckets = self._store.judged_buckets(alert.series, start, end, MAX_SERIES_BUCKETS)
        series = alert_pb2.AlertSeries(
            alert_id=alert.alert_id, buckets=[to_judged_bucket_message(b) for b in buckets]
        )
        series.bucket_width.FromTimedelta(width)
        return series

    @staticmethod
    def _state_filter(value: int, context: grpc.ServicerContext) -> AlertState | None:
        if value == events_pb2.ALERT_STATE_UNSPECIFIED:
            return None
        if value not in _STATES_BY_PROTO:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"state: unknown value {value}")
        return _STATES_BY_PROTO[value]


def _datetime(request: alert_pb2.ListAlertsRequest, field: str) -> datetime | None:
    if not request.HasField(field):
        return None
    stamp: Timestamp = getattr(request, field)
    return stamp.ToDatetime(tzinfo=UTC)


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, details: str) -> NoReturn:
    """`context.abort` raises, which its untyped stubs do not say."""
    context.abort(code, details)
    raise AssertionError("grpc's abort returned")
