"""Moving through a page with the keyboard alone, checking at every stop that focus is visible."""

from typing import Any

from playwright.sync_api import JSHandle, Locator, Page

# What draws a focus indicator, as the browser computed it for an element.
_FOCUS_STYLE = """element => {
  const style = getComputedStyle(element);
  return {
    outline: style.outlineStyle === "none" ? "none"
      : `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
    outlineWidth: parseFloat(style.outlineWidth) || 0,
    boxShadow: style.boxShadow,
  };
}"""
_DESCRIBE = """element => {
  const name = (element.getAttribute("aria-label") || element.textContent).trim().slice(0, 40);
  return `<${element.localName}${element.id ? "#" + element.id : ""}> ${JSON.stringify(name)}`;
}"""
# An outline thinner than this is a hairline, not an indicator.
MIN_OUTLINE_PX = 2


def tab_to(page: Page, target: Locator, *, key: str = "Tab", limit: int = 40) -> int:
    """Press `key` (Tab or Shift+Tab) until `target` has focus and return how many presses it
    took. Every element focused on the way must show a focus indicator (an outline of at least
    2 px or a box shadow) that it does not show once focus has moved on; focus must never fall
    back to the page body."""
    wanted = target.element_handle()
    previous: tuple[JSHandle, dict[str, Any]] | None = None
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        focused = page.evaluate_handle("document.activeElement")
        name = focused.evaluate(_DESCRIBE)
        assert focused.evaluate("element => element !== document.body"), (
            f"after {presses} x {key}, focus was lost"
        )
        style = focused.evaluate(_FOCUS_STYLE)
        outlined = style["outline"] != "none" and style["outlineWidth"] >= MIN_OUTLINE_PX
        assert outlined or style["boxShadow"] != "none", (
            f"no visible focus indicator on {name}: {style}"
        )
        if previous is not None:
            _assert_indicator_left(*previous)
        if focused.evaluate("(element, wanted) => element === wanted", wanted):
            return presses
        previous = (focused, style)
    raise AssertionError(f"{key} x {limit} never reached {target}")


def _assert_indicator_left(element: JSHandle, focused_style: dict[str, Any]) -> None:
    """The indicator belongs to focus: the element, no longer focused, no longer shows it."""
    if not element.evaluate("element => element.isConnected"):
        return  # replaced by a re-render: there is nothing left to compare
    unfocused = element.evaluate(_FOCUS_STYLE)
    assert (unfocused["outline"], unfocused["boxShadow"]) != (
        focused_style["outline"],
        focused_style["boxShadow"],
    ), f"{element.evaluate(_DESCRIBE)} looks the same focused and unfocused: {unfocused}"
