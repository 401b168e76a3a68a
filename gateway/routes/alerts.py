"""Operators' view of alerts: list with filters and cursor, follow as SSE, chart, acknowledge."""

from typing import Annotated

from carepulse.v1 import alert_pb2, events_pb2
from fastapi import APIRouter, Body, Depends, Header, Path, Query
from starlette.responses import Response

from gateway.alert_streams import AlertStreams
from gateway.auth import Authenticator
from gateway.keyring import ApiKey, Role
from gateway.models.alerts import (
    STATES,
    AcknowledgeRequest,
    Alert,
    AlertPage,
    AlertSeries,
    AlertStateName,
)
from gateway.problems import FieldError, Problem, problem_responses
from gateway.settings import GatewaySettings
from gateway.timestamps import ApiDatetime, to_timestamp
from gateway.upstreams import Upstreams

# Event sequences are int64 in the contract; a larger resume point cannot be sent upstream.
MAX_SEQUENCE = 2**63 - 1


def alerts_router(
    upstreams: Upstreams, settings: GatewaySettings, auth: Authenticator, streams: AlertStreams
) -> APIRouter:
    operator = auth.require(Role.OPERATOR)
    router = APIRouter(tags=["alerts"], dependencies=[Depends(operator)])

    @router.get("/v1/alerts", responses=problem_responses(400, 401, 403, 422, 429, 503, 504))
    def list_alerts(
        state: AlertStateName | None = None,
        topic: Annotated[str | None, Query(max_length=200)] = None,
        opened_after: ApiDatetime | None = None,
        opened_before: ApiDatetime | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(description="`next_cursor` of the page before")] = None,
    ) -> AlertPage:
        """Alerts, newest first, one page at a time."""
        if opened_after and opened_before and opened_after >= opened_before:
            raise Problem(
                422,
                "validation-failed",
                "Invalid request",
                "The time range is empty.",
                errors=[FieldError(field="opened_before", message="must be after opened_after")],
            )
        request = alert_pb2.ListAlertsRequest(
            state=STATES[state] if state else events_pb2.ALERT_STATE_UNSPECIFIED,
            topic=topic or "",
            page_size=limit,
            page_token=cursor or "",
        )
        if opened_after:
            request.opened_after.CopyFrom(to_timestamp(opened_after))
        if opened_before:
            request.opened_before.CopyFrom(to_timestamp(opened_before))
        page = upstreams.alert.ListAlerts(request, timeout=settings.alert_deadline_s)
        return AlertPage(
            alerts=[Alert.from_proto(a) for a in page.alerts],
            next_cursor=page.next_page_token or None,
        )

    @router.get(
        "/v1/alerts/stream",
        response_class=Response,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "`alert` events"},
            **problem_responses(400, 401, 403, 422, 429, 502, 503, 504),
        },
    )
    async def stream_alerts(
        key: Annotated[ApiKey, Depends(operator)],
        after: Annotated[
            int | None, Query(ge=0, le=MAX_SEQUENCE, description="Last sequence seen")
        ] = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Alert lifecycle events as Server-Sent Events; `id` is the event's sequence.

        Resume with the `Last-Event-ID` header (browsers send it when they reconnect) or
        `?after=`; the header wins, since a reconnecting EventSource repeats the first URL.
        """
        return await streams.open(_resume_point(after, last_event_id), holder=key.name)

    @router.get(
        "/v1/alerts/{alert_id}/series",
        responses=problem_responses(400, 401, 403, 404, 422, 429, 503, 504),
    )
    def alert_series(alert_id: Annotated[str, Path(max_length=64)]) -> AlertSeries:
        """The alert's series bucket by bucket around its window: counts, the negatives
        expected, the count that would spike, and which buckets spiked."""
        series = upstreams.alert.GetAlertSeries(
            alert_pb2.GetAlertSeriesRequest(alert_id=alert_id), timeout=settings.alert_deadline_s
        )
        return AlertSeries.from_proto(series)

    @router.post(
        "/v1/alerts/{alert_id}/ack",
        responses=problem_responses(400, 401, 403, 404, 409, 422, 429, 503, 504),
    )
    def acknowledge(
        alert_id: str,
        key: Annotated[ApiKey, Depends(operator)],
        body: Annotated[AcknowledgeRequest | None, Body()] = None,
    ) -> Alert:
        """Acknowledge a firing alert; the operator recorded is the API key's name."""
        alert = upstreams.alert.Acknowledge(
            alert_pb2.AcknowledgeRequest(
                alert_id=alert_id, operator=key.name, note=body.note if body else ""
            ),
            timeout=settings.alert_deadline_s,
        )
        return Alert.from_proto(alert)

    return router


def _resume_point(after: int | None, last_event_id: str | None) -> int:
    if last_event_id is None or not last_event_id.strip():
        return after or 0
    try:
        sequence = int(last_event_id)
    except ValueError:
        sequence = -1
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise Problem(
            400,
            "invalid-last-event-id",
            "Invalid Last-Event-ID",
            "Last-Event-ID must be the id of an event this stream sent (a sequence number).",
            errors=[FieldError(field="Last-Event-ID", message="expected a non-negative integer")],
        )
    return sequence
