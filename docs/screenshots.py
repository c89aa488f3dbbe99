"""Takes the panel and demo pictures in docs/ with Debian's Chromium: a real server
process, real conversations from the labelled set, the real panel.

    .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import socketio  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.browser.harness import CHROMIUM, ConsolePages, ServerProcess, agent_token, host_page, say  # noqa: E402

DOCS = ROOT / "docs"
DEV = ROOT / "tests" / "data" / "conversations" / "dev"
AGENT = "demo-agent"
PANEL = "customer-sense-panel"


def script(name: str, upto: int, cid: str) -> list[dict[str, Any]]:
    """The first `upto` events of a labelled conversation, as a console would send them now."""
    out = []
    for line in (DEV / f"{name}.jsonl").read_text().splitlines()[:upto]:
        event = {k: v for k, v in json.loads(line).items() if k not in ("ts", "id", "expect", "mood_label")}
        event["conversation"] = cid
        if event["type"] == "start":
            event["agent"] = {"id": AGENT}
        if event["type"] in ("message", "start", "hold", "end"):
            out.append(event)
    return out


def panel_shot(page: Page, path: Path) -> None:
    page.locator(PANEL).screenshot(path=str(path))
    print(f"wrote {path.relative_to(ROOT)}")


def chatwoot_shot(browser: Any) -> None:
    """The Chatwoot Dashboard App in a stand-in Chatwoot frame, after the sample webhooks."""
    import time as clock
    import urllib.request

    from assist.signing import sign
    from tests.browser.test_chatwoot_app import APP_KEY, HOST, SAMPLES, SECRET

    console = ConsolePages()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp), extra_env={
            "ASSIST_SOURCES": f"console:console-secret,chatwoot:{SECRET}", "ASSIST_CHATWOOT_APP_KEY": APP_KEY,
            "ASSIST_FRAME_ANCESTORS": console.origin}).start()
        try:
            for name in ("conversation_created", "conversation_updated"):
                body = json.dumps(json.loads((SAMPLES / f"{name}.json").read_text()), separators=(",", ":")).encode()
                stamp = str(int(clock.time()))
                urllib.request.urlopen(urllib.request.Request(
                    f"{server.url}/integrations/chatwoot/webhook", data=body, method="POST",
                    headers={"Content-Type": "application/json", "X-Chatwoot-Timestamp": stamp,
                             "X-Chatwoot-Signature": sign(SECRET, stamp, body)})).read()
            server.send({"conversation": "chatwoot-342", "type": "message", "role": "agent",
                         "text": "Unfortunately refunds take 30 days, that's our policy."})
            context = json.loads((SAMPLES / "dashboard_app_context.json").read_text())["data"]
            html = HOST.format(src=f"{server.url}/integrations/chatwoot/app#key={APP_KEY}",
                               context=json.dumps(context)).replace(
                "<body>", "<body style='margin:0;background:#eef1f5;font:14px system-ui'>"
                          "<p style='margin:8px'>Chatwoot conversation #342 &rarr; Customer Sense tab</p>")
            page = browser.new_page(viewport={"width": 380, "height": 720})
            page.goto(console.add("/chatwoot", html))
            page.frame_locator("iframe").locator("customer-sense-panel .card").first.wait_for()
            page.wait_for_timeout(300)
            page.screenshot(path=str(DOCS / "integrations" / "chatwoot-app.png"))
            print("wrote docs/integrations/chatwoot-app.png")
            page.close()
        finally:
            server.stop()
            console.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp), command="demo").start()
        console = ConsolePages()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM))
                # the demo console, before the other conversations are there
                page = browser.new_page(viewport={"width": 1280, "height": 780})
                page.goto(f"{server.url}/demo")
                page.select_option("#speed", "16")
                for name in ("dev-004", "dev-003"):
                    page.select_option("#script", name)
                    page.click("#play")
                page.locator(f"{PANEL} .card").first.wait_for(timeout=30000)
                page.wait_for_timeout(6000)
                page.screenshot(path=str(DOCS / "demo.png"))
                print("wrote docs/demo.png")
                browser.close()
            server.send(*script("dev-003", 6, "shot-kyle"))
            server.send(*script("dev-005", 5, "shot-amara"))
            server.send(*script("dev-004", 4, "shot-victoria"))
            server.send(*script("dev-001", 4, "shot-olivia"))
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM))
                for scheme in ("light", "dark"):
                    page = browser.new_page(viewport={"width": 760, "height": 900}, color_scheme=scheme)
                    html = host_page(server.url, agent_token(AGENT), conversation="shot-kyle",
                                     css="body{margin:0;display:flex;gap:0;background:#888}main{flex:1}"
                                         f"aside{{background:{'#fff' if scheme == 'light' else '#161a21'}}}")
                    page.goto(console.add(f"/{scheme}", html))
                    page.locator(f"{PANEL} .card").first.wait_for()
                    page.locator(f"{PANEL} .card summary").first.click()
                    page.locator(f"{PANEL} .type summary").click()
                    page.wait_for_timeout(300)
                    panel_shot(page, DOCS / f"panel-{scheme}.png")
                    page.close()
                # draft warning and a supervisor whisper, 320 px
                page = browser.new_page(viewport={"width": 760, "height": 900})
                page.goto(console.add("/draft", host_page(server.url, agent_token(AGENT), conversation="shot-amara")))
                page.locator(f"{PANEL} [data-role=mood]").wait_for()
                page.evaluate("() => CustomerSense.checkDraft(\"Unfortunately that's our policy, "
                              "you'll have to call the assessor's office yourself.\", 'shot-amara')")
                server.send(say("shot-amara", "customer", "I have now waited 40 minutes for this. Unacceptable."))
                with socketio.SimpleClient() as supervisor:
                    supervisor.connect(server.url, namespace="/supervisor",
                                       auth={"token": agent_token("Maya", "supervisor")},
                                       transports=["websocket"])
                    supervisor.call("whisper", {"conversation": "shot-amara",
                                                "text": "She is a VIP: you may offer the priority re-booking."})
                page.locator(f"{PANEL} [data-role=draft-warning]").wait_for()
                page.wait_for_timeout(300)
                panel_shot(page, DOCS / "panel-draft.png")
                page.close()
                # the supervisor's wall and editor
                for name in ("dev-002", "dev-006", "dev-007", "dev-008", "dev-009", "dev-010", "dev-011", "dev-012"):
                    server.send(*script(name, 99, f"shot-{name}"))  # whole chats, for the editor's backtest
                page = browser.new_page(viewport={"width": 1300, "height": 820})
                page.goto(f"{server.url}/supervisor#token={agent_token('Maya', 'supervisor')}")
                page.locator("[data-connection=online]").wait_for()
                page.click("[data-conversation=shot-kyle]")
                page.locator(".transcript").wait_for()
                page.wait_for_timeout(400)
                page.screenshot(path=str(DOCS / "supervisor-wall.png"))
                print("wrote docs/supervisor-wall.png")
                page.click("#tab-editor")
                page.click("[data-entry=let-them-vent]")
                page.wait_for_function("() => document.getElementById('entry-yaml')?.value.startsWith('id:')")
                area = page.locator("#entry-yaml")
                area.fill(area.input_value().replace("words >= 8", "words >= 11"))
                page.locator("[data-role=check]").filter(has_text="Valid").wait_for(timeout=15000)
                page.click("#run-backtest")
                page.locator("[data-role=backtest]").wait_for(timeout=15000)
                area.evaluate("e => { e.scrollTop = 0; e.blur(); }")
                page.wait_for_timeout(300)
                page.screenshot(path=str(DOCS / "supervisor-editor.png"))
                print("wrote docs/supervisor-editor.png")
                page.close()
                chatwoot_shot(browser)
                browser.close()
        finally:
            console.close()
            server.stop()


if __name__ == "__main__":
    main()
