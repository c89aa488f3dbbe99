"""`assist demo`'s /demo console, and the /panel iframe page driven by postMessage."""

from __future__ import annotations

import json
from pathlib import Path
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from .conftest import Watched, axe_violations
from .harness import ConsolePages, ServerProcess, agent_token, say, start_event

PANEL = "customer-sense-panel"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("demo"), command="demo").start()
    yield proc
    proc.stop()


def test_demo_plays_a_script_and_the_panel_shows_its_prompts(watched: Watched, demo: ServerProcess) -> None:
    page = watched.page
    page.goto(f"{demo.url}/demo")
    expect(page.locator("#script option")).not_to_have_count(0)
    page.select_option("#speed", "16")
    page.select_option("#script", "dev-003")
    page.click("#play")
    expect(page.locator("#transcript .msg").first).to_contain_text("fries")
    expect(page.locator(f"{PANEL} .card").first).to_be_visible(timeout=30000)
    expect(page.locator(f"{PANEL} h2")).to_have_text("Kyle Ramsey")
    # pause stops the script; resume goes on
    page.click("#pause")
    expect(page.locator("#pause")).to_have_text("Resume")
    count = page.locator("#transcript .msg").count()
    page.wait_for_timeout(1500)
    assert page.locator("#transcript .msg").count() == count
    page.click("#pause")
    expect(page.locator("#pause")).to_have_text("Pause")
    watched.clean()


def test_demo_person_types_both_sides_and_sees_the_draft_warning(watched: Watched, demo: ServerProcess) -> None:
    page = watched.page
    page.goto(f"{demo.url}/demo")
    page.click("#new-chat")
    page.fill("#say", "This is the third time I write!!! The parcel never arrived and nobody answers")
    page.click("#send")
    expect(page.locator("#transcript .msg.customer")).to_have_count(1)
    expect(page.locator(f"{PANEL} [data-role=mood]")).to_contain_text("Upset")
    page.check("#as-agent")
    page.locator("#say").press_sequentially("Sorry, that's company policy, there is nothing I can do")
    warning = page.locator(f"{PANEL} [data-role=draft-warning]")
    expect(warning).to_be_visible()
    expect(warning.locator("[data-prompt=no-excuses]")).to_have_count(1)
    page.click("#send")
    expect(warning).to_have_count(0)
    expect(page.locator(f"{PANEL} .card[data-prompt=no-excuses]")).to_be_visible()
    watched.clean()


def test_a_message_sent_before_new_chat_is_acknowledged_arrives(watched: Watched, demo: ServerProcess) -> None:
    page = watched.page
    page.goto(f"{demo.url}/demo")
    page.locator("#new-chat").wait_for()
    # both clicks in one task: the server cannot have answered "open" yet
    page.evaluate("""() => {
        document.getElementById("new-chat").click();
        document.getElementById("say").value = "My parcel is late again!!";
        document.getElementById("send").click();
    }""")
    # the page may show an older chat for a moment; the new one ends up shown, holding the message
    expect(page.locator("#transcript .msg.customer")).to_have_count(1)
    expect(page.locator("#transcript .msg.customer").first).to_contain_text("My parcel is late again!!")
    expect(page.locator("[role=tab][aria-selected=true]")).to_have_text("Your chat")
    page.locator(f"{PANEL} [data-role=mood]").wait_for()
    expect(page.locator("#say")).to_have_value("")
    watched.clean()


def test_demo_page_accessibility(browser: Browser, demo: ServerProcess) -> None:
    context = browser.new_context(bypass_csp=True)  # only so that axe can be injected
    page = context.new_page()
    page.goto(f"{demo.url}/demo")
    page.click("#new-chat")
    page.fill("#say", "My order is late again, this is ridiculous!!!")
    page.click("#send")
    page.locator(f"{PANEL} [data-role=mood]").wait_for()
    found = axe_violations(page)
    assert found == [], [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]]) for v in found]
    context.close()


IFRAME_HOST = """<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Console with iframe</title></head><body>
<iframe id="panel" title="Customer Sense" src="{src}" style="width:320px;height:600px;border:0"></iframe>
<script>
  window.messages = [];
  window.addEventListener("message", (e) => {{ if (e.data && e.data.source === "customer-sense") messages.push(e.data); }});
  window.send = (m) => document.getElementById("panel").contentWindow.postMessage({{source: "customer-sense", ...m}}, "*");
</script></body></html>"""


def test_iframe_panel_speaks_postmessage(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> None:
    console = ConsolePages()
    server = ServerProcess(tmp_path_factory.mktemp("iframe"),
                           extra_env={"ASSIST_FRAME_ANCESTORS": console.origin}).start()
    try:
        context = browser.new_context()
        page = context.new_page()
        watched = Watched(page)
        agent = "iframe-agent"
        server.send(start_event("if-1", agent, "Ann"), say("if-1", "customer", "Where is my refund? Third time asking!"),
                    start_event("if-2", agent, "Bo"), say("if-2", "customer", "My card was charged twice!!!"))
        src = f"{server.url}/panel#token={agent_token(agent)}&conversation=if-1"
        page.goto(console.add("/iframe", IFRAME_HOST.format(src=src)))
        frame = page.frame_locator("#panel")
        expect(frame.locator(f"{PANEL} h2")).to_have_text("Ann")
        page.wait_for_function("() => messages.some(m => m.type === 'status' && m.connection === 'online')")
        page.evaluate("() => send({type: 'select', conversation: 'if-2'})")
        expect(frame.locator(f"{PANEL} h2")).to_have_text("Bo")
        page.evaluate("(text) => send({type: 'draft', requestId: 7, text})",
                      "That's not my department, you need to call billing.")
        page.wait_for_function("() => messages.some(m => m.type === 'draft-result' && m.requestId === 7)")
        result = page.evaluate("() => messages.find(m => m.type === 'draft-result')")
        assert "dont-pass-buck" in [w["prompt"] for w in result["warnings"]], json.dumps(result)[:400]
        expect(frame.locator(f"{PANEL} [data-role=draft-warning]")).to_be_visible()
        # a prompt on the panel is told to the host too
        server.send(say("if-2", "agent", "That's our policy, sorry."))
        page.wait_for_function("() => messages.some(m => m.type === 'prompt' && m.record.prompt === 'no-excuses')")
        # the token left the iframe's address bar
        assert "token" not in page.frames[1].url
        watched.clean()
        context.close()
    finally:
        server.stop()
        console.close()


XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def test_demo_keeps_typed_payloads_inert(watched: Watched, demo: ServerProcess) -> None:
    page = watched.page
    page.goto(f"{demo.url}/demo")
    page.click("#new-chat")
    page.fill("#say", f"This is useless!!! {XSS}")
    page.click("#send")
    expect(page.locator("#transcript .msg.customer")).to_contain_text("<script>")
    page.locator(f"{PANEL} [data-role=mood]").wait_for()
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__xss === undefined && document.querySelectorAll('img').length === 0")
    watched.clean()


def test_html_reports_keep_payloads_inert_in_chromium(browser: Browser, tmp_path: Path) -> None:
    from assist.backtest import Backtest, Change
    from assist.backtest_report import html as backtest_html
    from assist.effectiveness import PromptStats
    from assist.effectiveness_report import html as report_html

    result = Backtest(conversations=1, events=3)
    result.old_prompts[XSS] = 1
    result.changes.append(Change("removed", XSS, XSS, 2, None, XSS, "live", ({"event": 1, "role": "x", "text": XSS},)))
    pages = {"backtest.html": backtest_html(result, XSS, XSS), "report.html": report_html([PromptStats(XSS, 1)],
                                                                                          conversations=1)}
    for name, text in pages.items():
        path = tmp_path / name
        path.write_text(text)
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(path.as_uri())
        assert page.evaluate("() => window.__xss === undefined && document.querySelectorAll('img').length === 0")
        assert XSS in page.inner_text("body") and not dialogs
        page.close()
