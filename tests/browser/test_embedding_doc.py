"""Runs every `doctest` block of docs/embedding.md against a real server: shell and
Python as written, HTML in Chromium on another origin, with the example host and token
replaced by the test server's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from ..server_helpers import SOURCE_SECRET
from .harness import ROOT, ConsolePages, ServerProcess, agent_token, say, start_event

DOC = ROOT / "docs" / "embedding.md"
BLOCKS = re.findall(r"```(\w+) doctest\n(.*?)```", DOC.read_text(), re.S)


def test_the_guide_has_examples_of_each_kind() -> None:
    assert {kind for kind, _ in BLOCKS} == {"sh", "python", "html"}
    assert len(BLOCKS) >= 6


@pytest.fixture(scope="module")
def guide_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    console_origin = "http://localhost"
    server = ServerProcess(tmp_path_factory.mktemp("guide"),
                           extra_env={"ASSIST_FRAME_ANCESTORS": f"{console_origin}:*"}).start()
    yield server
    server.stop()


def env_for(server: ServerProcess) -> dict[str, str]:
    return {**os.environ, "ASSIST_URL": server.url, "CONSOLE_SECRET": SOURCE_SECRET,
            "ASSIST_SECRET": os.environ.get("ASSIST_SECRET", "x" * 40)}


@pytest.mark.parametrize("n", [i for i, (kind, _) in enumerate(BLOCKS) if kind in ("sh", "python")])
def test_code_examples_run(guide_server: ServerProcess, n: int, tmp_path: Path) -> None:
    kind, code = BLOCKS[n]
    if kind == "sh":
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=ROOT, env=env_for(guide_server),
                                capture_output=True, text=True, timeout=60)
    else:
        script = tmp_path / "example.py"
        script.write_text(code)
        result = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env_for(guide_server),
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"example {n} ({kind}) failed:\n{code}\n--- stderr:\n{result.stderr}"


@pytest.mark.parametrize("n", [i for i, (kind, _) in enumerate(BLOCKS) if kind == "html"])
def test_html_examples_show_the_panel(browser: Browser, guide_server: ServerProcess, n: int) -> None:
    agent = f"guide-{n}"
    guide_server.send(start_event("c-1", agent, "Dana"),
                      say("c-1", "customer", "My parcel never arrived and nobody answers!!"),
                      say("c-1", "agent", "Unfortunately that's our policy."))
    html = BLOCKS[n][1].replace("https://assist.example.com", guide_server.url).replace(
        "AGENT_TOKEN", agent_token(agent))
    console = ConsolePages()
    try:
        page = browser.new_page()
        page.goto(console.add("/guide", f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
                                        f'<link rel="icon" href="data:,"><title>guide</title></head>'
                                        f"<body>{html}</body></html>"))
        root = page.frame_locator("iframe").locator("customer-sense-panel") if "<iframe" in html \
            else page.locator("customer-sense-panel")
        expect(root.locator(".card[data-prompt=no-excuses]")).to_be_visible()
        page.close()
    finally:
        console.close()
