import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import grpc
import pytest
from carepulse.v1 import alert_pb2, events_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.alert.alerts import Alert, AlertState, SeriesKey
from services.alert.page_token import decode_page_token, encode_page_token
from services.alert.server import STREAM_ATTACHED, AlertServicer
from services.alert.storage.alerts import PageCursor
from tests.unit.alert.conftest import START, WIDTH, Pipeline, make_alert


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code


class FakeContext:
    def __init__(self) -> None:
        self.active = True
        self._callbacks: list[Callable[[], None]] = []
        self.initial_metadata: tuple[tuple[str, str], ...] | None = None

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code, details)

    def is_active(self) -> bool:
        return self.active

    def send_initial_metadata(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self.initial_metadata = metadata

    def add_callback(self, callback: Callable[[], None]) -> bool:
        self._callbacks.append(callback)
        return True

    def cancel(self) -> None:
        self.active = False
        for callback in self._callbacks:
            callback()


def _alert(index: int, topic: str = "refund", state: AlertState = AlertState.FIRING) -> Alert:
    # Alerts 0 and 1 open at the same instant: the id breaks the tie in the ordering.
    opened = START + max(index, 1) * WIDTH
    return make_alert(f"alert-{index:02d}", SeriesKey(topic, "chat"), state=state, opened_at=opened)


@pytest.fixture
def servicer(pipeline: Pipeline) -> AlertServicer:
    return AlertServicer(
        pipeline.store, pipeline.lifecycle, pipeline.feed, bucket_width=WIDTH, stream_poll_s=0.05
    )


def _insert(pipeline: Pipeline, alerts: list[Alert]) -> None:
    with pipeline.store.transaction() as tx:
        for alert in alerts:
            tx.alerts.insert(alert)
            tx.alerts.append_event(alert, alert.opened_at)


def _list(servicer: AlertServicer, **fields: object) -> alert_pb2.ListAlertsResponse:
    request = alert_pb2.ListAlertsRequest(**fields)  # type: ignore[arg-type]
    return servicer.ListAlerts(request, FakeContext())


def test_pages_walk_every_alert_newest_first_exactly_once(
    pipeline: Pipeline, servicer: AlertServicer
) -> None:
    _insert(pipeline, [_alert(i) for i in range(7)])

    seen: list[str] = []
    token = ""
    while True:
        page = _list(servicer, page_size=3, page_token=token)
        seen += [a.alert_id for a in page.alerts]
        token = page.next_page_token
        if not token:
            break

    assert seen == [f"alert-{i:02d}" for i in reversed(range(7))]


def test_filters_by_state_topic_and_opening_time(
    pipeline: Pipeline, servicer: AlertServicer
) -> None:
    _insert(
        pipeline,
        [_alert(2), _alert(3, state=AlertState.RESOLVED), _alert(4, topic="card"), _alert(5)],
    )
    after = Timestamp()
    after.FromDatetime(START + 2 * WIDTH)

    page = _list(servicer, state=events_pb2.ALERT_STATE_FIRING, topic="refund", opened_after=after)

    assert [a.alert_id for a in page.alerts] == ["alert-05"]
    assert page.next_page_token == ""


def test_page_token_round_trips_and_rejects_anything_else(servicer: AlertServicer) -> None:
    cursor = PageCursor(START + timedelta(microseconds=7), "alert-01")
    assert decode_page_token(encode_page_token(cursor)) == cursor

    # The last two are well-formed JSON whose instant lies outside years 1..9999 in UTC.
    beyond_utc = [
        encode_page_token(PageCursor(datetime.fromisoformat(moment), "alert-01"))
        for moment in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00")
    ]
    for bad in ("not-a-token", "e30", "W10", "WyJ4IiwgMV0", *beyond_utc):
        with pytest.raises(Aborted) as aborted:
            _list(servicer, page_token=bad)
        assert aborted.value.code is grpc.StatusCode.INVALID_ARGUMENT


def test_page_size_is_capped(pipeline: Pipeline, servicer: AlertServicer) -> None:
    _insert(pipeline, [_alert(i) for i in range(3)])
    assert len(_list(servicer, page_size=10_000).alerts) == 3
    with pytest.raises(Aborted):
        _list(servicer, page_size=-1)


def test_acknowledge_maps_domain_errors_to_status_codes(
    pipeline: Pipeline, servicer: AlertServicer
) -> None:
    _insert(pipeline, [_alert(1), _alert(2, state=AlertState.RESOLVED)])

    def ack(alert_id: str, operator: str = "ana") -> events_pb2.Alert:
        request = alert_pb2.AcknowledgeRequest(alert_id=alert_id, operator=operator, note="hi")
        return servicer.Acknowledge(request, FakeContext())

    assert ack("alert-01").state == events_pb2.ALERT_STATE_ACKNOWLEDGED
    assert ack("alert-01").acknowledgement.operator == "ana"
    for alert_id, operator, code in [
        ("nope", "ana", grpc.StatusCode.NOT_FOUND),
        ("alert-02", "ana", grpc.StatusCode.FAILED_PRECONDITION),
        ("alert-01", " ", grpc.StatusCode.INVALID_ARGUMENT),
        ("", "ana", grpc.StatusCode.INVALID_ARGUMENT),
    ]:
        with pytest.raises(Aborted) as aborted:
            ack(alert_id, operator)
        assert aborted.value.code is code


def test_stream_replays_after_the_sequence_then_follows_until_cancelled(
    pipeline: Pipeline, servicer: AlertServicer
) -> None:
    _insert(pipeline, [_alert(1), _alert(2)])
    context = FakeContext()
    stream = servicer.StreamAlerts(alert_pb2.StreamAlertsRequest(after_sequence=1), context)

    replayed = next(stream)
    later = threading.Timer(0.1, _insert, args=(pipeline, [_alert(3)]))
    later.start()
    followed = next(stream)
    context.cancel()

    assert (replayed.sequence, replayed.alert.alert_id) == (2, "alert-02")
    assert (followed.sequence, followed.alert.alert_id) == (3, "alert-03")
    assert list(stream) == []
    assert context.initial_metadata == (STREAM_ATTACHED,)


def test_streams_beyond_the_limit_are_refused_until_one_ends(pipeline: Pipeline) -> None:
    servicer = AlertServicer(
        pipeline.store,
        pipeline.lifecycle,
        pipeline.feed,
        bucket_width=WIDTH,
        stream_poll_s=0.05,
        max_streams=2,
    )

    def follow() -> tuple[FakeContext, threading.Thread]:
        context = FakeContext()
        stream = servicer.StreamAlerts(alert_pb2.StreamAlertsRequest(after_sequence=0), context)
        thread = threading.Thread(target=list, args=(stream,))
        thread.start()
        _wait_until(lambda: context.initial_metadata is not None)
        return context, thread

    followers = [follow(), follow()]
    refused = servicer.StreamAlerts(alert_pb2.StreamAlertsRequest(), FakeContext())
    with pytest.raises(Aborted) as aborted:
        next(refused)
    assert aborted.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED

    first_context, first_thread = followers[0]
    first_context.cancel()
    first_thread.join(timeout=5)
    followers[0] = follow()  # the ended stream's slot is free again

    for context, thread in followers:
        context.cancel()
        thread.join(timeout=5)


def _wait_until(condition: Callable[[], bool], timeout_s: float = 5) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)
