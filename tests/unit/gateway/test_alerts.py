import hashlib
from datetime import UTC, datetime

from carepulse.v1 import alert_pb2, events_pb2
from fastapi.testclient import TestClient

from tests.unit.gateway.api_testing import AS_CLIENT, AS_OPERATOR, OPERATOR_KEY, is_problem
from tests.unit.gateway.fake_upstreams import FakeUpstreams, alert


def test_alert_pages_follow_the_cursor(client: TestClient, fakes: FakeUpstreams) -> None:
    fakes.alerts.pages = {
        "": alert_pb2.ListAlertsResponse(alerts=[alert("a-2")], next_page_token="t-2"),
        "t-2": alert_pb2.ListAlertsResponse(alerts=[alert("a-1")]),
    }

    first = client.get("/v1/alerts", params={"limit": 1}, headers=AS_OPERATOR).json()
    second = client.get(
        "/v1/alerts", params={"limit": 1, "cursor": first["next_cursor"]}, headers=AS_OPERATOR
    ).json()

    assert [a["alert_id"] for a in first["alerts"]] == ["a-2"]
    assert first["next_cursor"] == "t-2"
    assert [a["alert_id"] for a in second["alerts"]] == ["a-1"]
    assert second["next_cursor"] is None
    assert [(r.page_size, r.page_token) for r in fakes.alerts.list_requests] == [
        (1, ""),
        (1, "t-2"),
    ]


def test_alert_filters_reach_the_alert_service(client: TestClient, fakes: FakeUpstreams) -> None:
    params = {
        "state": "firing",
        "topic": "billing",
        "opened_after": "2024-05-01T00:00:00Z",
        "opened_before": "2024-05-02T00:00:00Z",
    }

    assert client.get("/v1/alerts", params=params, headers=AS_OPERATOR).status_code == 200

    sent = fakes.alerts.list_requests[0]
    assert sent.state == events_pb2.ALERT_STATE_FIRING
    assert sent.topic == "billing"
    assert sent.opened_after.ToDatetime(tzinfo=UTC) == datetime(2024, 5, 1, tzinfo=UTC)
    assert sent.opened_before.ToDatetime(tzinfo=UTC) == datetime(2024, 5, 2, tzinfo=UTC)


def test_alert_json_has_readable_states_and_times(client: TestClient, fakes: FakeUpstreams) -> None:
    fakes.alerts.pages = {"": alert_pb2.ListAlertsResponse(alerts=[alert("a-1")])}

    listed = client.get("/v1/alerts", headers=AS_OPERATOR).json()["alerts"][0]

    assert listed["state"] == "firing"
    assert listed["kind"] == "negative_share"
    assert listed["severity"] == "critical"
    assert listed["opened_at"] == "2023-11-14T22:13:20Z"
    assert listed["resolved_at"] is None
    assert listed["acknowledgement"] is None
    assert listed["evidence"]["negative_count"] == 9


def test_alert_json_says_which_kind_fired(client: TestClient, fakes: FakeUpstreams) -> None:
    surge = alert("a-2", kind=events_pb2.ALERT_KIND_VOLUME)
    surge.evidence.baseline_message_rate = 12.5
    fakes.alerts.pages = {"": alert_pb2.ListAlertsResponse(alerts=[surge])}

    listed = client.get("/v1/alerts", headers=AS_OPERATOR).json()["alerts"][0]

    assert listed["kind"] == "volume"
    assert listed["evidence"]["baseline_message_rate"] == 12.5


def test_alert_json_points_each_example_message_to_its_trace(
    client: TestClient, fakes: FakeUpstreams
) -> None:
    traced = alert("a-1")
    traced.evidence.example_message_ids.extend(["m-1", "m-2"])
    traced.evidence.example_traces.add(
        message_id="m-1", trace_id="0af7651916cd43dd8448eb211c80319c", span_id="b7ad6b7169203331"
    )
    fakes.alerts.pages = {"": alert_pb2.ListAlertsResponse(alerts=[traced])}

    evidence = client.get("/v1/alerts", headers=AS_OPERATOR).json()["alerts"][0]["evidence"]

    assert evidence["example_message_ids"] == ["m-1", "m-2"]
    assert evidence["example_traces"] == [
        {
            "message_id": "m-1",
            "trace_id": "0af7651916cd43dd8448eb211c80319c",
            "span_id": "b7ad6b7169203331",
        }
    ]


def test_unknown_state_and_inverted_range_are_422(client: TestClient) -> None:
    unknown = client.get("/v1/alerts", params={"state": "burning"}, headers=AS_OPERATOR)
    inverted = client.get(
        "/v1/alerts",
        params={"opened_after": "2024-05-02T00:00:00Z", "opened_before": "2024-05-01T00:00:00Z"},
        headers=AS_OPERATOR,
    )

    assert is_problem(unknown, 422)
    assert is_problem(inverted, 422)


def test_times_given_as_numbers_are_422_not_read_as_seconds_since_1970(client: TestClient) -> None:
    for value in ("0.5", "1700000000"):
        response = client.get("/v1/alerts", params={"opened_after": value}, headers=AS_OPERATOR)

        assert is_problem(response, 422)
        assert response.json()["errors"][0]["field"] == "opened_after"


def test_stale_cursor_is_400_with_the_service_detail(client: TestClient) -> None:
    response = client.get("/v1/alerts", params={"cursor": "bogus"}, headers=AS_OPERATOR)

    assert is_problem(response, 400)
    assert response.json()["detail"] == "page_token: unknown or expired"


def test_acknowledge_records_the_operator_and_note(client: TestClient) -> None:
    response = client.post("/v1/alerts/a-1/ack", json={"note": "on it"}, headers=AS_OPERATOR)

    assert response.status_code == 200
    assert response.json()["state"] == "acknowledged"
    # A plaintext key has no name of its own: its role and a fingerprint of its hash stand in.
    fingerprint = hashlib.sha256(OPERATOR_KEY.encode()).hexdigest()[:8]
    assert response.json()["acknowledgement"]["operator"] == f"operator-{fingerprint}"
    assert response.json()["acknowledgement"]["note"] == "on it"


def test_acknowledge_needs_no_body(client: TestClient) -> None:
    assert client.post("/v1/alerts/a-1/ack", headers=AS_OPERATOR).status_code == 200


def test_acknowledging_a_missing_alert_is_404(client: TestClient) -> None:
    assert is_problem(client.post("/v1/alerts/a-missing/ack", headers=AS_OPERATOR), 404)


def test_acknowledging_a_resolved_alert_is_409(client: TestClient) -> None:
    response = client.post("/v1/alerts/a-resolved/ack", headers=AS_OPERATOR)

    assert is_problem(response, 409)
    assert response.json()["detail"] == "alert a-resolved is resolved"


def test_alert_series_lists_each_bucket_with_its_band_and_verdict(client: TestClient) -> None:
    reply = client.get("/v1/alerts/a-1/series", headers=AS_OPERATOR)

    assert reply.status_code == 200, reply.text
    series = reply.json()
    assert (series["alert_id"], series["bucket_seconds"]) == ("a-1", 60.0)
    assert [b["start"] for b in series["buckets"]] == [
        "2023-11-14T22:13:20Z",
        "2023-11-14T22:14:20Z",
        "2023-11-14T22:15:20Z",
    ]
    assert series["buckets"][2] == {
        "start": "2023-11-14T22:15:20Z",
        "negative_count": 14,
        "total_count": 20,
        "expected_negatives": 1.5,
        "spike_threshold_negatives": 10,
        "spiked": True,
        "expected_messages": 19.5,
        "surge_threshold_messages": 40,
        "surged": False,
    }


def test_alert_series_of_an_unknown_alert_is_404_and_needs_an_operator_key(
    client: TestClient,
) -> None:
    missing = client.get("/v1/alerts/a-missing/series", headers=AS_OPERATOR)
    as_client = client.get("/v1/alerts/a-1/series", headers=AS_CLIENT)

    assert is_problem(missing, 404)
    assert is_problem(as_client, 403)
