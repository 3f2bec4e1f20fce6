"""Browser fixtures: a live center, Debian's chromium driven by Playwright, and the checks
every browser test can apply (accessibility with axe-core, nothing loaded from elsewhere).

Playwright never downloads a browser here: it launches ``chromium`` from the system
(``apt-get install chromium``, done by .ci/run). Without it the browser tests skip, except in
CI (``CI`` set), where they fail. One browser for the whole session; each test gets a fresh
context (cookies, storage) and page."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aicenter.server.process import Server, build_server
from aicenter.settings import Settings
from tests.support.live_server import LiveServer

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def chromium_path() -> str | None:
    return os.environ.get("AICENTER_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright (headless), shared by every browser test."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's package)")
        pytest.skip("no chromium on this machine: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True,
                                             args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class LiveCenter:
    """A center served on a loopback port, with its first operator's token."""

    server: Server
    url: str
    operator_token: str
    outside_requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def web_center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCenter]:
    """A center as ``aicenter serve`` builds it (no scheduling loop: pages only)."""
    home = tmp_path_factory.mktemp("browser") / "home"
    built = build_server(Settings(home=home), run_loop=False)
    assert built.operator_token
    try:
        with LiveServer(built.app) as live:
            yield LiveCenter(built, live.url, built.operator_token)
    finally:
        built.ctx.db.dispose()


@pytest.fixture
def page(chromium: Any, web_center: LiveCenter) -> Iterator[Any]:
    """A fresh page (own cookies) whose requests to any other host are refused and recorded
    in ``web_center.outside_requests``: the pages must work offline."""
    context = chromium.new_context(base_url=web_center.url, locale="ko-KR")
    host = urlsplit(web_center.url).netloc
    web_center.outside_requests.clear()

    def only_here(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != host:
            web_center.outside_requests.append(url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_here)
    page = context.new_page()
    page.csp_errors = []  # the pages break none of their own Content-Security-Policy
    page.on("console", lambda msg: page.csp_errors.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    try:
        yield page
    finally:
        context.close()


def assert_accessible(page: Any, *, context: str | None = None) -> list[dict[str, Any]]:
    """Run axe-core on the page; fail on any serious or critical violation. Returns every
    violation found (minor and moderate ones included) for the caller to report."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluated over the DevTools protocol: the page's CSP (no inline script) allows it
        page.evaluate("() => {\n" + AXE.read_text(encoding="utf-8") + "\n}")
    result = page.evaluate("(ctx) => axe.run(ctx || document, {resultTypes: ['violations']})",
                           context)
    violations: list[dict[str, Any]] = result["violations"]
    bad = [f"{v['id']} ({v['impact']}): {v['help']} at "
           + ", ".join(" ".join(n["target"]) for n in v["nodes"][:3])
           for v in violations if v["impact"] in SERIOUS]
    assert not bad, f"accessibility violations on {page.url}:\n" + "\n".join(bad)
    return violations


def sign_in(page: Any, token: str) -> None:
    """Through the form, as a person would."""
    page.goto("/login")
    page.fill("#token", token)
    page.press("#token", "Enter")
    page.wait_for_url("**/")
