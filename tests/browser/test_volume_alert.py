"""A volume alert in the operator view: a real surge of messages through the stack, shown with its
kind, and charted as messages per bucket against the volume detector's band."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from local.stack import Stack
from tests.browser.conftest import VOLUME_WARMUP_BUCKETS
from tests.browser.console_pages import sign_in
from tests.browser.evidence_chart import read_chart
from tests.browser.traffic import neutral_topic, send_steady_then_surge

pytestmark = [pytest.mark.integration, pytest.mark.browser]

# How far a drawn point may be from where the chart's axis puts its value, in SVG units.
PIXEL_TOLERANCE = 0.5


def test_a_volume_alert_shows_its_kind_and_charts_messages_against_the_volume_band(
    page: Page,
    stack: Stack,
    keys: dict[str, str],
    client_api: httpx.Client,
    operator_api: httpx.Client,
) -> None:
    topic = neutral_topic(client_api)
    sign_in(page, f"{stack.gateway_url}/console/operator.html", keys["CAREPULSE_OPERATOR_KEY"])
    expect(page.locator("#stream-state")).to_have_text("Live")

    send_steady_then_surge(client_api, "app", steady_buckets=VOLUME_WARMUP_BUCKETS + 2, bucket_s=2)

    # One alert for the topic: its messages surged, the share of negatives did not.
    item = page.locator(".alert-item", has_text=topic)
    expect(item).to_contain_text("volume", timeout=90_000)
    page.select_option("#kind-filter", "volume")
    listed = page.locator(".alert-item")
    expect(listed.filter(has_not_text="volume")).to_have_count(0)
    item.click()
    expect(page.locator("#detail-title")).to_have_text(f"{topic} on app")
    expect(page.locator("#facts dt:text-is('Kind') + dd")).to_have_text("volume")
    expect(page.locator("#facts dt:text-is('Messages') + dd")).to_contain_text("expected")

    figure = page.locator("#chart")
    expect(figure.locator("figcaption")).to_contain_text("messages per bucket")
    expect(figure.locator("figcaption")).to_contain_text("surged bucket")
    expect(figure.locator("svg .fired").first).to_be_attached()
    chart = read_chart(figure)
    alert_id = item.get_attribute("data-alert-id")
    series = operator_api.get(f"/v1/alerts/{alert_id}/series").json()
    # The series only grows at its end: the buckets drawn are its first ones.
    buckets = series["buckets"][: len(chart.markers)]

    assert chart.label.startswith("Messages per 2-second bucket"), chart.label
    assert len(chart.markers) == len(chart.observed) == len(buckets) >= VOLUME_WARMUP_BUCKETS + 3
    for i, bucket in enumerate(buckets):
        where = f"bucket {i} {bucket}"
        assert abs(chart.observed[i] - chart.y_of(bucket["total_count"])) < PIXEL_TOLERANCE, where
        assert abs(chart.expected[i] - chart.y_of(bucket["expected_messages"])) < PIXEL_TOLERANCE
        assert abs(chart.band_bottom[i] - chart.y_of(bucket["expected_messages"])) < PIXEL_TOLERANCE
        assert (
            abs(chart.band_top[i] - chart.y_of(bucket["surge_threshold_messages"]))
            < PIXEL_TOLERANCE
        ), where
        marker = chart.markers[i]
        assert marker.fired == bucket["surged"], where
        assert marker.shape == ("path" if bucket["surged"] else "circle"), where
        assert marker.tooltip.split(": ", 1)[1].startswith(f"{bucket['total_count']} messages")
    surge = max(range(len(buckets)), key=lambda i: buckets[i]["total_count"])
    assert chart.markers[surge].fired, "the surge is marked"
    assert chart.observed[surge] < chart.band_top[surge], "the surge is drawn above the band"
