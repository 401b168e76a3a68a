"""The console's files: served from memory behind a strict CSP, links set by settings."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.console.assets import load_assets
from gateway.console.router import STATIC_DIR
from tests.unit.gateway.api_testing import MakeClient, is_problem


def test_pages_scripts_and_styles_are_served_with_their_types_and_a_strict_csp(
    client: TestClient,
) -> None:
    for path, media_type in [
        ("/console/", "text/html"),
        ("/console/operator.html", "text/html"),
        ("/console/js/operator.js", "text/javascript"),
        ("/console/console.css", "text/css"),
    ]:
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert reply.headers["content-type"].startswith(media_type), path
        csp = reply.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["x-frame-options"] == "DENY"


def test_an_unchanged_file_is_not_sent_again(client: TestClient) -> None:
    first = client.get("/console/agent.html")

    again = client.get("/console/agent.html", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert again.content == b""


def test_the_root_leads_to_the_console_and_unknown_files_are_problems(client: TestClient) -> None:
    root = client.get("/", follow_redirects=False)
    bare = client.get("/console", follow_redirects=False)

    assert root.status_code == bare.status_code == 307
    assert root.headers["location"] == bare.headers["location"] == "/console/"
    assert is_problem(client.get("/console/../gateway/settings.py"), 404)
    assert is_problem(client.get("/console/nothing.html"), 404)


def test_trace_and_grafana_links_come_from_settings(make_client: MakeClient) -> None:
    configured = make_client(
        console_trace_url="http://traces.example/zipkin/traces/{trace_id}",
        console_grafana_url="http://grafana.example",
    )
    unconfigured = make_client()

    assert configured.get("/console/config.json").json() == {
        "trace_url": "http://traces.example/zipkin/traces/{trace_id}",
        "grafana_url": "http://grafana.example",
    }
    assert unconfigured.get("/console/config.json").json() == {
        "trace_url": None,
        "grafana_url": None,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("console_trace_url", "http://traces.example/zipkin/"),  # no {trace_id}
        ("console_trace_url", "javascript:alert(1)//{trace_id}"),
        ("console_grafana_url", "ftp://grafana.example"),
    ],
)
def test_link_settings_must_be_web_urls(make_client: MakeClient, field: str, value: str) -> None:
    with pytest.raises(ValueError, match="console"):
        make_client(**{field: value})


def test_no_page_relies_on_inline_script_or_style() -> None:
    """The CSP would block them: every script is a file, every style is in the stylesheet."""
    for path in STATIC_DIR.glob("*.html"):
        html = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path.name
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), path.name


def test_a_file_of_unknown_type_is_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<p>hi</p>")
    (tmp_path / "notes.txt").write_text("no type for this")

    with pytest.raises(ValueError, match=r"notes\.txt"):
        load_assets(tmp_path)
