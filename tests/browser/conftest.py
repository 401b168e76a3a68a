"""A real stack, the console it serves, and Debian's Chromium driving it (Playwright)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from local.stack import Stack, StackPorts, running_stack
from servicekit.cache import user_cache_dir
from tests.integration.system_binaries import require_binary

# 400 above tests/integration's stack (same variable, same default), which may run in the same
# session; tests/observability takes +200.
PORT_OFFSET = int(os.environ.get("CAREPULSE_TEST_PORT_OFFSET", "11000")) + 400
# Where the console links traces and dashboards: nothing listens there, the tests read hrefs.
TRACE_URL = "http://127.0.0.1:9/zipkin/traces/{trace_id}"
GRAFANA_URL = "http://127.0.0.1:9/grafana"
# A series' first buckets only teach the volume detector: 60 by default, two minutes of this
# stack's buckets; two are enough for a test's steady traffic to set the level a surge beats.
VOLUME_WARMUP_BUCKETS = 2
# The flags of a browser on a machine with no route out: no background traffic, no GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, str]) -> Iterator[Stack]:
    env = {
        **keys,
        "ALERT_BUCKET_SECONDS": "2",  # a burst alerts within seconds
        # ...and stays open for two minutes, however slow the machine, until it is acknowledged.
        "ALERT_SPIKE_RESOLVE_AFTER_BUCKETS": "60",
        "ALERT_VOLUME_WARMUP_BUCKETS": str(VOLUME_WARMUP_BUCKETS),
        "GATEWAY_CONSOLE_TRACE_URL": TRACE_URL,
        "GATEWAY_CONSOLE_GRAFANA_URL": GRAFANA_URL,
    }
    root = tmp_path_factory.mktemp("console-stack")
    with running_stack(root, StackPorts.shifted(PORT_OFFSET), env) as stack:
        yield stack


# Package scope: the browser, its driver's event loop (which would make every later
# asyncio.run() in this thread fail) and the stack end with the browser tests.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = require_binary(os.environ.get("CAREPULSE_CHROMIUM", "chromium"), "chromium")
    browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab with empty storage; any script error or CSP violation fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error" and not _expected_refusal(message.text):
            errors.append(message.text)

    page.on("console", record)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], "the console logged errors"


def _expected_refusal(text: str) -> bool:
    # The browser logs every non-2xx fetch; the tests cause 403s and a restart on purpose.
    return text.startswith("Failed to load resource") or "ERR_" in text


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core, as `make browser-deps` installs it from the lockfile."""
    default = user_cache_dir() / "browser-tests" / "node_modules" / "axe-core" / "axe.min.js"
    path = Path(os.environ.get("CAREPULSE_AXE_JS", default))
    if not path.is_file():
        pytest.fail(f"{path} not found: run `make browser-deps` (axe-core from npm)", pytrace=False)
    return path.read_text()


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/ when CAREPULSE_UPDATE_SCREENSHOTS=1 (`make console-screenshots`), else a temp dir,
    so an ordinary test run leaves the working tree as it was."""
    if os.environ.get("CAREPULSE_UPDATE_SCREENSHOTS") == "1":
        return Path(__file__).resolve().parents[2] / "docs"
    return tmp_path_factory.mktemp("screenshots")
