"""Steps the console tests share: signing in, and the accessibility check with axe-core."""

from typing import Any

from playwright.sync_api import Page

# What must not be there at all; minor and moderate findings are reported by axe but allowed.
BLOCKING_IMPACTS = ("serious", "critical")


def sign_in(page: Page, url: str, key: str) -> None:
    """Open a view and enter the key into its form, as a person would."""
    page.goto(url)
    page.fill("#key", key)
    page.keyboard.press("Enter")


def accessibility_violations(page: Page, axe_source: str) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    # Evaluated through the DevTools protocol, which the page's CSP does not govern.
    page.evaluate(axe_source)
    results: dict[str, Any] = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]
