"""Both views used with the keyboard alone: Tab, Shift+Tab, Enter, Space and typing, never a
click; every control reached shows where focus is."""

import re

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from local.stack import Stack
from tests.browser.keyboard import tab_to
from tests.browser.traffic import (
    STOLEN_CARD_COMPLAINT,
    negative_topic,
    send_baseline_then_burst,
)

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SIGNED_WEIGHT = re.compile(r"^\s*[+\u2212]\d\.\d{3}$")


def test_agent_classifies_a_message_and_gives_feedback_with_the_keyboard_alone(
    page: Page, stack: Stack, keys: dict[str, str]
) -> None:
    page.goto(f"{stack.gateway_url}/console/agent.html")
    expect(page.locator("#key")).to_be_focused()  # the view asks for its key first
    page.keyboard.type(keys["CAREPULSE_CLIENT_KEY"])
    page.keyboard.press("Enter")
    expect(page.locator("#view")).to_be_visible()

    tab_to(page, page.locator("#text"))
    page.keyboard.type("My card payment was declined twice today and I am furious")
    submit = page.get_by_role("button", name="Classify and suggest")
    tab_to(page, submit)
    page.keyboard.press("Enter")
    expect(page.locator("#labels .sentiment-negative")).to_have_text("negative")
    expect(submit).to_be_focused()  # still where the agent left it, not back at the top

    helpful = page.locator(".suggestion").first.get_by_role("button", name=re.compile("^Helpful"))
    tab_to(page, helpful)
    page.keyboard.press("Space")
    expect(page.locator(".suggestion .feedback-status").first).to_have_text("Recorded: helpful.")
    expect(helpful).to_be_focused()

    # The number behind each colour appears when its word is focused, and only then.
    token = page.locator(".explanation").first.locator(".token", has_text="furious")
    weight = token.locator(".weight")
    assert _width(weight) <= 1
    tab_to(page, token, limit=60)
    expect(weight).to_have_text(SIGNED_WEIGHT)
    assert _width(weight) > 10
    page.keyboard.press("Shift+Tab")
    assert _width(weight) <= 1


def test_operator_acknowledges_an_alert_with_a_note_with_the_keyboard_alone(
    page: Page,
    stack: Stack,
    keys: dict[str, str],
    client_api: httpx.Client,
    operator_api: httpx.Client,
) -> None:
    topic = negative_topic(client_api, STOLEN_CARD_COMPLAINT)
    send_baseline_then_burst(
        client_api, "email", quiet_buckets=1, bucket_s=2, complaint=STOLEN_CARD_COMPLAINT
    )
    page.goto(f"{stack.gateway_url}/console/operator.html")
    expect(page.locator("#key")).to_be_focused()
    page.keyboard.type(keys["CAREPULSE_OPERATOR_KEY"])
    page.keyboard.press("Enter")

    item = page.locator(".alert-item", has_text=topic).filter(has_text="negative_share")
    expect(item).to_be_visible(timeout=90_000)
    tab_to(page, item)
    page.keyboard.press("Enter")
    title = page.locator("#detail-title")
    expect(title).to_have_text(f"{topic} on email")
    expect(title).to_be_focused()  # the detail is where the operator goes next

    tab_to(page, page.locator("#note"))
    page.keyboard.type("stolen cards blocked by hand")
    tab_to(page, page.get_by_role("button", name="Acknowledge", exact=True))
    page.keyboard.press("Enter")

    expect(page.locator("#facts .state-acknowledged")).to_have_text("acknowledged")
    expect(title).to_be_focused()  # the form went away; focus did not fall to the page
    alert_id = item.get_attribute("data-alert-id")
    acked = operator_api.get("/v1/alerts", params={"topic": topic}).json()["alerts"]
    (alert,) = [alert for alert in acked if alert["alert_id"] == alert_id]
    assert alert["acknowledgement"]["note"] == "stolen cards blocked by hand"


def test_the_keyboard_check_reports_a_control_without_a_visible_focus(page: Page) -> None:
    """tab_to can fail: a button whose focus outline was removed is found."""
    page.set_content(
        "<style>button:focus { outline: 3px solid blue }"
        " #hidden-focus:focus { outline: none }</style>"
        "<button>first</button><button id='hidden-focus'>second</button>"
    )

    with pytest.raises(AssertionError, match="no visible focus indicator on <button#hidden-focus>"):
        tab_to(page, page.locator("#hidden-focus"))


def _width(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not rendered"
    return float(box["width"])
