"""Every dashboard query and every rule returns data from the real Prometheus once the traffic
has run: no panel or rule on a metric nobody exports, or on labels nobody sets."""

import re

import httpx
import pytest
import yaml

from tests.observability.backend_api import eventually, promql_range
from tests.observability.observed_stack import ObservedStack
from tests.observability.promql import (
    Expression,
    dashboard_expressions,
    parseable,
    rule_files,
    vector_selectors,
)
from tests.observability.traffic import Traffic

pytestmark = pytest.mark.integration

# A test's Prometheus holds minutes of data: what a panel compares with last week is compared
# with the same moment instead, which keeps the query's metrics, labels and arithmetic.
_WEEK_AGO = re.compile(r"\s+offset\s+1w\b")


def _empty(observed: ObservedStack, traffic: Traffic, queries: dict[str, str]) -> list[str]:
    """The queries that returned no series at any moment since the traffic began."""
    return [
        f"{where}: {expr}"
        for where, expr in queries.items()
        if not promql_range(observed.prometheus, expr, traffic.started_s)
    ]


def _assert_all_have_data(
    observed: ObservedStack, traffic: Traffic, queries: dict[str, str]
) -> None:
    # Rates need two scrapes, recording rules an evaluation, span metrics a flush: wait a while.
    try:
        eventually(lambda: not _empty(observed, traffic, queries) or None, 90, "data")
    except AssertionError:
        empty = "\n".join(_empty(observed, traffic, queries))
        raise AssertionError(f"no data after the traffic:\n{empty}") from None


def test_every_dashboard_query_and_annotation_returns_data(
    observed: ObservedStack, traffic: Traffic
) -> None:
    expressions: list[Expression] = dashboard_expressions()
    queries = {
        f"{e.where} #{i}": _WEEK_AGO.sub("", parseable(e.expr)) for i, e in enumerate(expressions)
    }
    _assert_all_have_data(observed, traffic, queries)


def test_every_recording_rule_records_a_series(observed: ObservedStack, traffic: Traffic) -> None:
    queries = {
        f"{path.name}: {rule['record']}": rule["record"]
        for path in rule_files()
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    assert len(queries) > 10
    _assert_all_have_data(observed, traffic, queries)


def test_every_series_an_alert_reads_exists(observed: ObservedStack, traffic: Traffic) -> None:
    """Each vector selector of an alert alone, without its range or offset: a threshold that
    is not crossed legitimately leaves the whole expression empty, a missing series does not."""
    queries = {
        f"{path.name}: {rule['alert']}: {selector}": str(selector)
        for path in rule_files()
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
        for selector in vector_selectors(rule["expr"])
    }
    assert len(queries) > 20
    _assert_all_have_data(observed, traffic, queries)


def test_a_prometheus_alert_fired_and_reached_alertmanager(
    observed: ObservedStack, traffic: Traffic
) -> None:
    """The two dead letters of the traffic fire DeadLettersGrowing (it has no `for`)."""
    firing = promql_range(
        observed.prometheus, 'ALERTS{alertname="DeadLettersGrowing"}', traffic.started_s
    )
    assert firing, "DeadLettersGrowing never fired"

    def received() -> list[object]:
        reply = httpx.get(
            f"{observed.alertmanager}/api/v2/alerts",
            params={"filter": 'alertname="DeadLettersGrowing"'},
            timeout=10,
        )
        reply.raise_for_status()
        alerts: list[object] = reply.json()
        return alerts

    eventually(received, 60, "DeadLettersGrowing in Alertmanager")
