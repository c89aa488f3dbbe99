"""The supervisor's page in Chromium: the wall, whispers, alerts, the phrasebook editor."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio
from playwright.sync_api import Browser, Page, expect

from assist.phrasebook import DEFAULT_DIR

from .conftest import Watched, axe_violations
from .harness import ServerProcess, agent_token, say, start_event

XSS_NAME = '<img src=x onerror="window.__xss=1">'


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("books") / "phrasebooks"
    shutil.copytree(DEFAULT_DIR, target)
    return target


@pytest.fixture(scope="module")
def boss_server(tmp_path_factory: pytest.TempPathFactory, books: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("wall"), extra_env={"ASSIST_PHRASEBOOKS": str(books)}).start()
    proc.send(start_event("calm", "ann", "Priya"), say("calm", "customer", "Hi, when does my order ship?"),
              start_event("angry", "ann", "Rex"),
              say("angry", "customer", "Third time I write!!! Refund me now or I'm calling my lawyer and posting this"),
              say("angry", "agent", "That's our policy, nothing I can do."),
              start_event("xss", "bo", XSS_NAME), say("xss", "customer", f"broken again {XSS_NAME} <script>x()</script>"))
    yield proc
    proc.stop()


def open_wall(watched: Watched, server: ServerProcess) -> Page:
    page = watched.page
    page.goto(f"{server.url}/supervisor#token={agent_token('boss', 'supervisor')}")
    page.locator("[data-connection=online]").wait_for()
    return page


def test_wall_ranks_opens_whispers_and_acknowledges(watched: Watched, boss_server: ServerProcess) -> None:
    page = open_wall(watched, boss_server)
    rows = page.locator("table.convs tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Rex")  # most at risk first
    assert "token" not in page.url
    # the escalation alert, acknowledged
    alert = page.locator(".alert").filter(has_text="angry")
    expect(alert).to_be_visible()
    alert.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".alert").filter(has_text="angry")).to_have_count(0)
    # open: transcript, curve, prompts
    page.click("[data-conversation=angry]")
    expect(page.locator(".transcript")).to_contain_text("calling my lawyer")
    expect(page.locator(".prompts")).to_contain_text("no-excuses")
    expect(page.locator(".prompts")).to_contain_text("acknowledged by boss")
    # whisper: reaches the agent's panel
    got: list[dict[str, str]] = []
    with socketio.SimpleClient() as agent:
        agent.connect(boss_server.url, namespace="/agent", auth={"token": agent_token("ann")},
                      transports=["websocket"])
        page.fill("#whisper", "Offer the courier refund now")
        page.get_by_role("button", name="Whisper").click()
        expect(page.locator(".whisper [role=status]")).to_contain_text("Sent to ann")
        while True:
            event, data = agent.receive(timeout=5)
            if event == "whisper":
                got.append(data)
                break
    assert got[0]["text"] == "Offer the courier refund now" and got[0]["from"] == "boss"
    watched.clean()


def test_a_half_typed_whisper_survives_live_updates(watched: Watched, boss_server: ServerProcess) -> None:
    page = open_wall(watched, boss_server)
    page.click("[data-conversation=calm]")
    page.fill("#whisper", "Tell her the tracking link")
    # a new turn in the open chat repaints the wall; the draft must still be there
    boss_server.send(say("calm", "customer", "Also, can I change the address?"))
    expect(page.locator(".transcript")).to_contain_text("change the address")
    expect(page.locator("#whisper")).to_have_value("Tell her the tracking link")
    page.get_by_role("button", name="Whisper").click()
    expect(page.locator(".whisper [role=status]")).to_contain_text("Sent to ann")
    # and the answer stays after the next repaint
    boss_server.send(say("calm", "agent", "Sure, what is the new address?"))
    expect(page.locator(".transcript")).to_contain_text("new address")
    expect(page.locator(".whisper [role=status]")).to_contain_text("Sent to ann")
    expect(page.locator("#whisper")).to_have_value("")
    watched.clean()


def test_wall_keeps_customer_text_inert(watched: Watched, boss_server: ServerProcess) -> None:
    page = open_wall(watched, boss_server)
    page.click("[data-conversation=xss]")
    expect(page.locator(".detail h2")).to_contain_text(XSS_NAME)
    expect(page.locator(".transcript")).to_contain_text("<script>x()</script>")
    assert page.evaluate("() => document.querySelectorAll('img, script:not([src])').length") == 0
    assert page.evaluate("() => window.__xss === undefined")
    watched.clean()


def test_editor_from_typo_to_shadow_to_live(watched: Watched, boss_server: ServerProcess, books: Path) -> None:
    page = open_wall(watched, boss_server)
    page.click("#tab-editor")
    page.click("[data-entry=no-excuses]")
    area = page.locator("#entry-yaml")
    page.wait_for_function("() => document.getElementById('entry-yaml')?.value.startsWith('id: no-excuses')")
    original = area.input_value()
    area.fill(original.replace("'blame-system' in cues", "'blame-sytem' in cues"))
    check = page.locator("[data-role=check]")
    expect(check).to_contain_text("line 5 of the entry")
    expect(check).to_contain_text("did you mean 'blame-system'")
    expect(page.locator("#save-entry")).to_be_disabled()
    # fixed, and sent to shadow first
    shadow = original.replace("severity: warn", "severity: warn\nmode: shadow", 1)
    area.fill(shadow)
    expect(check).to_contain_text("Valid")
    page.click("#run-backtest")
    expect(page.locator("[data-role=backtest]")).to_contain_text("conversations")
    page.click("#save-entry")
    expect(page.locator("[data-role=saved]")).to_contain_text("Saved and live")
    assert "mode: shadow" in (books / "default.yaml").read_text()
    expect(page.locator("[data-entry=no-excuses] + .shadow")).to_be_visible()
    # in shadow: an agent never sees it
    with socketio.SimpleClient() as agent:
        agent.connect(boss_server.url, namespace="/agent", auth={"token": agent_token("zed")},
                      transports=["websocket"])
        boss_server.send(start_event("sh1", "zed"), say("sh1", "customer", "My parcel never arrived."),
                         say("sh1", "agent", "Unfortunately that's our policy."))
        seen = []
        try:
            while True:
                event, data = agent.receive(timeout=1.5)
                if event == "prompt":
                    seen.append(data["prompt"])
        except socketio.exceptions.TimeoutError:
            pass
        assert "no-excuses" not in seen
    # switched on
    area.fill(original)
    expect(check).to_contain_text("Valid")
    page.click("#save-entry")
    expect(page.locator("[data-entry=no-excuses] + .shadow")).to_have_count(0)
    expect(page.locator(".versions li")).not_to_have_count(0)
    watched.clean()


def test_a_broken_file_edit_shows_on_the_wall(watched: Watched, boss_server: ServerProcess, books: Path) -> None:
    page = open_wall(watched, boss_server)
    path = books / "default.yaml"
    good = path.read_text()
    try:
        path.write_text(good.replace("cooldown: 45", "cooldown: soon", 1))
        errors = page.locator("[data-role=phrasebook-errors]")
        expect(errors).to_be_visible(timeout=8000)
        expect(errors).to_contain_text("default.yaml:")
        expect(page.locator("[data-role=phrasebook-status]")).to_contain_text("refused")
    finally:
        path.write_text(good)
    expect(page.locator("[data-role=phrasebook-errors]")).to_have_count(0, timeout=8000)
    watched.clean()


def test_wall_accessibility(browser: Browser, boss_server: ServerProcess) -> None:
    context = browser.new_context(bypass_csp=True)  # only so that axe can be injected
    page = context.new_page()
    page.goto(f"{boss_server.url}/supervisor#token={agent_token('boss', 'supervisor')}")
    page.locator("[data-connection=online]").wait_for()
    page.click("[data-conversation=angry]")
    page.locator(".transcript").wait_for()
    found = axe_violations(page)
    assert found == [], [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]]) for v in found]
    context.close()
