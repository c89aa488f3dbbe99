"""Browser fixtures: Debian's Chromium driven by Playwright, a real server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from .harness import CHROMIUM, ROOT, ConsolePages, ServerProcess, agent_token, host_page

# The suite runs a worker a core (.ci/test) beside Chromium and the server processes: on a shared
# two-core machine a page can take longer than Playwright's default 5 s to show what a test waits
# for. A test that never sees it still fails, with the same message, after 15 s.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash .ci/test` (it installs Debian's chromium with apt-get)")
    if not (ROOT / "widget" / "dist" / "customer-sense.js").exists():
        pytest.fail("the panel is not built: run `bash .ci/setup`")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("server")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="package")
def console() -> Iterator[ConsolePages]:
    pages = ConsolePages()
    yield pages
    pages.close()


class Watched:
    """A page with everything that should never happen recorded: dialogs, page errors,
    CSP violations, console errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)

    def clean(self) -> None:
        assert not self.dialogs, f"a dialog opened: {self.dialogs}"
        assert not self.errors, self.errors


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1000, "height": 760})
    page = context.new_page()
    yield Watched(page)
    context.close()


def open_console(watched: Watched, console: ConsolePages, server: ServerProcess, agent: str, *, css: str = "",
                 body: str = "", conversation: str = "") -> Page:
    """A console page on another origin that embeds the panel with a script tag; wait until it is live."""
    html = host_page(server.url, agent_token(agent), css=css, body=body, conversation=conversation)
    page = watched.page
    page.goto(console.add(f"/console-{agent}", html))
    page.locator("customer-sense-panel [data-connection=online]").wait_for()
    return page


def axe_violations(page: Page, selector: str | None = None) -> list[dict[str, Any]]:
    axe = Path(ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js")
    page.add_script_tag(path=str(axe))
    found: list[dict[str, Any]] = page.evaluate(
        "async (sel) => (await axe.run(sel ? document.querySelector(sel) : document)).violations", selector)
    return [v for v in found if v["impact"] in ("serious", "critical")]
