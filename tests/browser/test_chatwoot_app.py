"""The Chatwoot Dashboard App in Chromium, inside a host page that speaks Chatwoot's
dashboard-app postMessage protocol (Frame.vue at 4.13: a JSON string
{event: "appContext", data} on load and in answer to "chatwoot-dashboard-app:fetch-info")."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from assist.signing import sign

from .conftest import Watched
from .harness import ROOT, ConsolePages, ServerProcess

SAMPLES = ROOT / "tests" / "data" / "chatwoot"
SECRET = "Xm4kR8pT2vN9qL6wZ3yB7cHd"
APP_KEY = "app-key-0123456789"

HOST = """<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Chatwoot (stand-in)</title></head><body>
<iframe id="dashboard-app--frame-0-0" title="Customer Sense" src="{src}" style="width:340px;height:640px;border:0">
</iframe>
<script>
  const context = {context};
  const frame = document.getElementById("dashboard-app--frame-0-0");
  window.asked = 0;
  const send = () => frame.contentWindow.postMessage(JSON.stringify({{event: "appContext", data: context}}), "*");
  frame.addEventListener("load", send);
  window.addEventListener("message", (e) => {{
    if (e.data === "chatwoot-dashboard-app:fetch-info") {{ window.asked += 1; send(); }}
  }});
  window.switchTo = (id) => {{ context.conversation.id = id; send(); }};
</script></body></html>"""


def webhook(server: ServerProcess, name: str) -> None:
    body = json.dumps(json.loads((SAMPLES / f"{name}.json").read_text()), separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    request = urllib.request.Request(f"{server.url}/integrations/chatwoot/webhook", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Chatwoot-Timestamp": stamp,
        "X-Chatwoot-Signature": sign(SECRET, stamp, body)})
    with urllib.request.urlopen(request) as resp:
        assert resp.status == 200


def test_dashboard_app_shows_the_open_conversation(browser: Browser, tmp_path: Path) -> None:
    console = ConsolePages()
    server = ServerProcess(tmp_path, extra_env={
        "ASSIST_SOURCES": f"console:console-secret,chatwoot:{SECRET}", "ASSIST_CHATWOOT_APP_KEY": APP_KEY,
        "ASSIST_FRAME_ANCESTORS": console.origin}).start()
    try:
        for name in ("conversation_created", "conversation_updated", "message_created_outgoing"):
            webhook(server, name)
        context = json.loads((SAMPLES / "dashboard_app_context.json").read_text())["data"]
        html = HOST.format(src=f"{server.url}/integrations/chatwoot/app#key={APP_KEY}",
                           context=json.dumps(context).replace("</", "<\\/"))
        page = browser.new_page()
        watched = Watched(page)
        page.goto(console.add("/chatwoot", html))
        frame = page.frame_locator("#dashboard-app--frame-0-0")
        expect(frame.locator("customer-sense-panel h2")).to_have_text("Priya Raman")
        expect(frame.locator("customer-sense-panel [data-connection=online]")).to_be_visible()
        assert page.evaluate("() => window.asked") >= 1  # it asked Chatwoot, as the protocol allows
        expect(frame.locator("customer-sense-panel [data-role=mood]")).to_be_visible()
        # the agent opens another conversation in Chatwoot: the panel follows
        page.evaluate("() => switchTo(343)")
        expect(frame.locator("customer-sense-panel h2")).to_have_count(0)  # not another chat's advice
        expect(frame.locator("customer-sense-panel [data-role=empty]")).to_contain_text("Nothing on this conversation")
        page.evaluate("() => switchTo(342)")
        expect(frame.locator("customer-sense-panel h2")).to_have_text("Priya Raman")
        watched.clean()
        page.close()
    finally:
        server.stop()
        console.close()


def test_dashboard_app_with_a_wrong_key_says_so(browser: Browser, tmp_path: Path) -> None:
    console = ConsolePages()
    server = ServerProcess(tmp_path, extra_env={"ASSIST_CHATWOOT_APP_KEY": APP_KEY,
                                                "ASSIST_FRAME_ANCESTORS": console.origin}).start()
    try:
        context = json.loads((SAMPLES / "dashboard_app_context.json").read_text())["data"]
        html = HOST.format(src=f"{server.url}/integrations/chatwoot/app#key=wrong", context=json.dumps(context))
        page = browser.new_page()
        page.goto(console.add("/wrong", html))
        expect(page.frame_locator("#dashboard-app--frame-0-0").locator("[role=status]")).to_contain_text("wrong app key")
        page.close()
    finally:
        server.stop()
        console.close()


@pytest.mark.parametrize("body,status", [({"key": APP_KEY, "agent": 7}, 200), ({"key": "x", "agent": 7}, 401),
                                         ({"key": APP_KEY, "agent": "7; drop"}, 400)])
def test_token_endpoint(tmp_path: Path, body: dict[str, object], status: int) -> None:
    server = ServerProcess(tmp_path, extra_env={"ASSIST_CHATWOOT_APP_KEY": APP_KEY}).start()
    try:
        request = urllib.request.Request(f"{server.url}/integrations/chatwoot/token", data=json.dumps(body).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request) as resp:
                got = resp.status
                assert json.loads(resp.read())["agent"] == "chatwoot-7"
        except urllib.error.HTTPError as exc:
            got = exc.code
        assert got == status
    finally:
        server.stop()
