"""The agent's panel in real Chromium against a real server process."""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path

import pytest
import socketio
from playwright.sync_api import Browser, Page, expect

from .conftest import Watched, axe_violations, open_console
from .harness import ConsolePages, ServerProcess, agent_token, host_page, say, start_event

PANEL = "customer-sense-panel"
ids = itertools.count(1)


def fresh(prefix: str) -> tuple[str, str]:
    """A conversation id and an agent id nobody else in the session uses."""
    n = next(ids)
    return f"{prefix}-{n}", f"agent-{prefix}-{n}"


def upset_chat(server: ServerProcess, cid: str, agent: str, name: str = "Dana") -> None:
    server.send(start_event(cid, agent, name),
                say(cid, "customer", "My heater stopped working after two days and nobody answers my emails!"),
                say(cid, "agent", "Unfortunately our policy says returns go through the manufacturer."))


def card(page: Page, prompt: str) -> object:
    return page.locator(f"{PANEL} .card[data-prompt={prompt}]")


def test_a_prompt_appears_after_an_ingest_event(watched: Watched, console: ConsolePages, server: ServerProcess) -> None:
    cid, agent = fresh("appear")
    page = open_console(watched, console, server, agent)
    upset_chat(server, cid, agent)
    excuse = page.locator(f"{PANEL} .card[data-prompt=no-excuses]")
    expect(excuse).to_be_visible()
    expect(excuse).to_contain_text("excuse")
    expect(page.locator(f"{PANEL} h2")).to_have_text("Dana")
    expect(page.locator(f"{PANEL} [data-role=mood]")).to_contain_text("Upset")
    # announced to screen readers
    expect(page.locator(f"{PANEL} [role=status][aria-live=polite]")).to_contain_text("New warn prompt for Dana")
    # the evidence behind it, on demand
    excuse.locator("summary").click()
    expect(excuse.locator(".evidence")).to_contain_text("our policy")
    watched.clean()


def test_feedback_reaches_the_store(watched: Watched, console: ConsolePages, server: ServerProcess) -> None:
    cid, agent = fresh("feedback")
    page = open_console(watched, console, server, agent)
    upset_chat(server, cid, agent)
    excuse = page.locator(f"{PANEL} .card[data-prompt=no-excuses]")
    prompt_id = excuse.get_attribute("data-id")
    excuse.locator("button[data-verdict=helpful]").click()
    expect(excuse).to_contain_text("Marked helpful")
    deadline = time.monotonic() + 5
    rows: list[tuple[str, str]] = []
    while time.monotonic() < deadline and not rows:
        with sqlite3.connect(server.db) as db:
            rows = db.execute("SELECT verdict, agent FROM feedback WHERE prompt_id = ?", (prompt_id,)).fetchall()
        time.sleep(0.05)
    assert rows == [("helpful", agent)]
    # dismiss takes the card away, and it stays away after a reload (the store knows)
    other = page.locator(f"{PANEL} .card").filter(has_not=page.locator(".thanks")).first
    other_id = other.get_attribute("data-id")
    other.locator("button[data-verdict=dismissed]").click()
    expect(page.locator(f"{PANEL} .card[data-id='{other_id}']")).to_have_count(0)
    page.reload()
    page.locator(f"{PANEL} [data-connection=online]").wait_for()
    expect(page.locator(f"{PANEL} .card[data-prompt=no-excuses]")).to_contain_text("Marked helpful")
    expect(page.locator(f"{PANEL} .card[data-id='{other_id}']")).to_have_count(0)
    watched.clean()


def test_feedback_is_keyboard_usable(watched: Watched, console: ConsolePages, server: ServerProcess) -> None:
    cid, agent = fresh("keys")
    page = open_console(watched, console, server, agent)
    upset_chat(server, cid, agent)
    excuse = page.locator(f"{PANEL} .card[data-prompt=no-excuses]")
    excuse.wait_for()
    excuse.locator("summary").focus()
    page.keyboard.press("Enter")  # opens "Why?"
    expect(excuse.locator("details")).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # "Not helpful"
    focused = page.evaluate("() => document.querySelector('customer-sense-panel').shadowRoot.activeElement?.dataset.verdict")
    assert focused == "not-helpful"
    page.keyboard.press("Enter")
    expect(excuse).to_contain_text("Marked not helpful")


def test_draft_with_an_excuse_shows_the_warning(watched: Watched, console: ConsolePages, server: ServerProcess) -> None:
    cid, agent = fresh("draft")
    page = open_console(watched, console, server, agent, conversation=cid)
    server.send(start_event(cid, agent), say(cid, "customer", "The parcel never arrived and I paid for express."))
    page.locator(f"{PANEL} [data-role=mood]").wait_for()
    warnings = page.evaluate("(cid) => CustomerSense.checkDraft("
                             "'Sorry, that is company policy, there is nothing I can do.', cid)", cid)
    assert "no-excuses" in [w["prompt"] for w in warnings]
    box = page.locator(f"{PANEL} [data-role=draft-warning]")
    expect(box).to_be_visible()
    expect(box).to_have_attribute("role", "alert")
    expect(box.locator("[data-prompt=no-excuses]")).to_have_count(1)
    # a good draft clears it; nothing was stored as a turn
    assert page.evaluate("(cid) => CustomerSense.checkDraft("
                         "'I am so sorry it has not arrived, I will sort this out now.', cid)", cid) == []
    expect(box).to_have_count(0)
    watched.clean()


XSS = [
    '<img src=x onerror="alert(1)">',
    "<script>alert(2)</script>",
    '"><svg onload=alert(3)>',
    "javascript:alert(4)",
    "<iframe srcdoc='<script>parent.alert(5)</script>'></iframe>",
]


def test_xss_in_customer_text_stays_inert(watched: Watched, console: ConsolePages, server: ServerProcess) -> None:
    cid, agent = fresh("xss")
    page = open_console(watched, console, server, agent)
    server.send(start_event(cid, agent, name=XSS[0]))
    for payload in XSS:
        server.send(say(cid, "customer", f"This is useless, I want a refund now!!! {payload}"))
    server.send(say(cid, "agent", f"That's our policy, nothing I can do {XSS[1]}"))
    cards = page.locator(f"{PANEL} .card")
    cards.first.wait_for()
    for details in cards.locator("summary").all():
        details.click()
    expect(page.locator(f"{PANEL} h2")).to_have_text(XSS[0])  # shown as text, literally
    expect(page.locator(f"{PANEL} .card .evidence").first).to_be_visible()
    page.wait_for_timeout(300)
    injected = page.evaluate("""() => {
        const root = document.querySelector('customer-sense-panel').shadowRoot;
        return [...root.querySelectorAll('img, script, iframe, svg:not(.spark):not(.riskbar) svg, [onerror], [onload]')]
            .map(e => e.outerHTML).concat([...document.querySelectorAll('img, iframe')].map(e => e.outerHTML));
    }""")
    assert injected == []
    assert page.evaluate("() => window.__xss === undefined")
    watched.clean()


HOSTILE_CSS = """
* { color: #f0f !important; background: #0f0 !important; font-size: 31px !important; display: inline !important;
    visibility: hidden; position: static !important; }
div, article, button, p { display: none !important; border: 9px solid red !important; }
customer-sense-panel { display: none; }
aside * { transform: rotate(180deg) !important; }
body { direction: rtl; font-family: "Comic Sans MS" !important; }
"""


def test_script_tag_embed_survives_hostile_css(watched: Watched, console: ConsolePages, server: ServerProcess) -> None:
    cid, agent = fresh("css")
    page = open_console(watched, console, server, agent, css=HOSTILE_CSS)
    upset_chat(server, cid, agent)
    excuse = page.locator(f"{PANEL} .card[data-prompt=no-excuses]")
    expect(excuse).to_be_visible()
    style = excuse.evaluate("""e => { const s = getComputedStyle(e), t = getComputedStyle(e.querySelector('.card-text'));
        return {display: s.display, border: s.borderTopWidth, font: t.fontSize, color: t.color,
                transform: s.transform, width: e.getBoundingClientRect().width}; }""")
    assert style["display"] == "block"
    assert style["border"] == "1px"
    assert style["font"] == "14px"
    assert style["color"] != "rgb(255, 0, 255)"
    assert style["transform"] == "none"
    assert style["width"] > 200  # the host squashed the <aside>; the panel still lays itself out
    excuse.locator("button[data-verdict=helpful]").click()
    expect(excuse).to_contain_text("Marked helpful")
    watched.clean()


def test_a_card_in_use_survives_new_records(watched: Watched, console: ConsolePages, server: ServerProcess) -> None:
    """New records and the waiting clock redraw the panel; the card the agent is using
    stays the same node: a press that straddles redraws still counts as a click, and an
    open "Why?" stays open."""
    cid, agent = fresh("keep")
    page = open_console(watched, console, server, agent, conversation=cid)
    upset_chat(server, f"{cid}-b", agent, "Ola")
    upset_chat(server, cid, agent)
    server.send(say(cid, "customer", "so what now?? still no heater"))
    timer = page.locator(f"{PANEL} [data-role=timer]")
    expect(timer).to_contain_text("Waiting for you")
    excuse = card(page, "no-excuses")
    excuse.locator("summary").click()
    expect(excuse.locator("details")).to_have_attribute("open", "")
    excuse.evaluate("e => { e.__mark = 'kept'; }")
    box = excuse.locator("button[data-verdict=helpful]").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    # while the button is held: the clock ticks and the other chat gets a message
    server.send(say(f"{cid}-b", "customer", "hello??"))
    expect(page.locator(f"{PANEL} nav button.conv .unread").first).to_be_visible()
    expect(timer).not_to_contain_text("0:00", timeout=8000)
    page.mouse.up()
    expect(excuse).to_contain_text("Marked helpful")
    assert excuse.evaluate("e => e.__mark") == "kept"
    expect(excuse.locator("details")).to_have_attribute("open", "")
    watched.clean()


def test_at_320px_nothing_scrolls_sideways(watched: Watched, console: ConsolePages, server: ServerProcess) -> None:
    cid, agent = fresh("narrow")
    page = open_console(watched, console, server, agent)
    server.send(start_event(cid, agent, name="Bartholomew-Maximilian Oyelaran-Featherstonehaugh"),
                say(cid, "customer", "x" * 300 + " WHY IS THIS STILL BROKEN?!!! " + "https://example.com/" + "a" * 200))
    upset_chat(server, f"{cid}-b", agent, "Sam")
    page.locator(f"{PANEL} .card").first.wait_for()
    sizes = page.evaluate("""() => { const r = document.querySelector('customer-sense-panel').shadowRoot;
        const b = r.querySelector('.body'); return [b.scrollWidth, b.clientWidth]; }""")
    assert sizes[0] <= sizes[1], f"horizontal overflow: {sizes}"
    assert sizes[1] <= 320


def test_several_conversations_ordered_by_risk_with_unread_counts(watched: Watched, console: ConsolePages, server: ServerProcess) -> None:
    calm, agent = fresh("calm")
    page = open_console(watched, console, server, agent, conversation=calm)
    server.send(start_event(calm, agent, "Priya"), say(calm, "customer", "Hi, could you tell me when my order ships?"))
    angry = f"{calm}-angry"
    server.send(start_event(angry, agent, "Rex"),
                say(angry, "customer", "This is the THIRD time I write. Refund me now or I'm calling my lawyer!!!"),
                say(angry, "agent", "That's not my department, you need to call billing."))
    rows = page.locator(f"{PANEL} nav button.conv")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Rex")  # most at risk first
    unread = rows.first.locator(".unread")
    expect(unread).to_be_visible()
    assert int(unread.inner_text()) >= 1
    expect(page.locator(f"{PANEL} h2")).to_have_text("Priya")  # the host's choice stays selected
    rows.first.click()
    expect(page.locator(f"{PANEL} h2")).to_have_text("Rex")
    expect(rows.first.locator(".unread")).to_have_count(0)
    expect(page.locator(f"{PANEL} .card[data-prompt=dont-pass-buck]")).to_be_visible()
    watched.clean()


def test_waiting_timer_and_supervisor_whisper(watched: Watched, console: ConsolePages, server: ServerProcess) -> None:
    cid, agent = fresh("wait")
    page = open_console(watched, console, server, agent)
    server.send(start_event(cid, agent, "Lee"), say(cid, "customer", "Hello? Is anyone there?"))
    timer = page.locator(f"{PANEL} [data-role=timer]")
    expect(timer).to_contain_text("Waiting for you 0:0")
    expect(timer).not_to_have_text("Waiting for you 0:00", timeout=8000)  # it ticks
    with socketio.SimpleClient() as supervisor:
        supervisor.connect(server.url, namespace="/supervisor", auth={"token": agent_token("sup-1", "supervisor")},
                           transports=["websocket"])
        ack = supervisor.call("whisper", {"conversation": cid, "text": "Offer the voucher <b>now</b>"},
                              timeout=5)
        assert ack == {"ok": True, "agent": agent}
    whisper = page.locator(f"{PANEL} .whisper")
    expect(whisper).to_contain_text("Offer the voucher <b>now</b>")
    expect(page.locator(f"{PANEL} [role=alert][aria-live=assertive]")).to_contain_text("Supervisor whisper")
    watched.clean()


def test_no_serious_accessibility_violations_light_and_dark(browser: Browser, console: ConsolePages,
                                                            server: ServerProcess) -> None:
    cid, agent = fresh("axe")
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1000, "height": 760}, color_scheme=scheme)
        page = context.new_page()
        html = host_page(server.url, agent_token(agent), conversation=f"{cid}-{scheme}")
        page.goto(console.add(f"/axe-{scheme}", html))
        page.locator(f"{PANEL} [data-connection=online]").wait_for()
        upset_chat(server, f"{cid}-{scheme}", agent)
        upset_chat(server, f"{cid}-{scheme}-2", agent, "Kim")
        page.locator(f"{PANEL} .card").first.wait_for()
        for summary in page.locator(f"{PANEL} summary").all():
            summary.click()
        found = axe_violations(page, PANEL)
        assert found == [], [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]]) for v in found]
        context.close()


def test_panel_survives_a_server_restart(browser: Browser, console: ConsolePages, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        context = browser.new_context()
        page = context.new_page()
        watched = Watched(page)
        cid, agent = fresh("restart")
        page = open_console(watched, console, server, agent)
        upset_chat(server, cid, agent)
        expect(page.locator(f"{PANEL} .card[data-prompt=no-excuses]")).to_be_visible()
        server.stop()
        expect(page.locator(f"{PANEL} [data-connection=offline]")).to_be_visible()
        expect(page.locator(f"{PANEL} [data-connection=offline]")).to_contain_text("Offline")
        server.start()  # same port, same store
        page.locator(f"{PANEL} [data-connection=online]").wait_for(timeout=15000)
        # restored from the snapshot, and live again
        expect(page.locator(f"{PANEL} .card[data-prompt=no-excuses]")).to_be_visible()
        server.send(say(cid, "customer", "That's ridiculous, talk to my lawyer then, I'm cancelling everything!!!"))
        expect(page.locator(f"{PANEL} .card")).not_to_have_count(0)
        expect(page.locator(f"{PANEL} [data-role=mood]")).to_contain_text("Upset")
        # the reconnect errors are the expected ones (the server was down)
        assert all("ERR_CONNECTION_REFUSED" in e or "WebSocket" in e for e in watched.errors), watched.errors
        context.close()
    finally:
        server.stop()


@pytest.mark.parametrize("path", ["/panel", "/widget/customer-sense.js"])
def test_served_with_strict_headers(server: ServerProcess, path: str) -> None:
    import urllib.request

    with urllib.request.urlopen(server.url + path) as resp:
        headers = resp.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    if path == "/panel":
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'self'" in policy
