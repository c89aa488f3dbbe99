"""Hardening: agents only ever see their own conversations, a flood from one source
does not stop the others, reports keep payloads inert, optional redaction."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import aiohttp

from assist.backtest import Backtest, Change
from assist.backtest_report import html as backtest_html
from assist.config import Limits
from assist.effectiveness import PromptStats
from assist.effectiveness_report import html as report_html
from assist.redact import redact
from assist.signing import sign

from .server_helpers import SOURCE, SOURCE_SECRET, connect_ingest, connect_panel, make_settings, running_server, token

XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>'


def start(cid: str, agent: str) -> dict[str, object]:
    return {"conversation": cid, "type": "start", "agent": {"id": agent}, "customer": {"name": XSS}}


def say(cid: str, role: str, text: str) -> dict[str, object]:
    return {"conversation": cid, "type": "message", "role": role, "text": text}


async def test_two_agents_never_see_each_others_conversations_or_whispers(tmp_path: Path) -> None:
    async with running_server(make_settings(tmp_path)) as srv:
        rita = await connect_panel(srv.url, token("rita"))
        sam = await connect_panel(srv.url, token("sam"))
        boss = await connect_panel(srv.url, token("boss", "supervisor"), "/supervisor")
        ingest = await connect_ingest(srv.url)
        await ingest.call("event", [start("r1", "rita"), start("s1", "sam"),
                                    say("r1", "customer", "This is useless, where is my refund?!!"),
                                    say("s1", "customer", "My card was charged twice!!!"),
                                    say("r1", "agent", "That's our policy."), say("s1", "agent", "That's our policy.")],
                          namespace="/ingest")
        assert (await boss.client.call("whisper", {"conversation": "s1", "text": "for sam only"},
                                       namespace="/supervisor"))["ok"]
        await sam.wait_for("whisper")
        await rita.wait_for("prompt", lambda p: p["conversation"] == "r1")
        await asyncio.sleep(0.3)
        for panel, mine in ((rita, "r1"), (sam, "s1")):
            seen = {d.get("conversation") for _, d in panel.received if isinstance(d, dict) and "conversation" in d}
            assert seen == {mine}, seen
            snap = await panel.client.call("snapshot", namespace="/agent")
            assert [c["conversation"] for c in snap["conversations"]] == [mine]
        assert not rita.of("whisper")
        # acting on another agent's conversation is refused
        for name, data in (("feedback", {"conversation": "s1", "prompt": "s1:p1", "verdict": "helpful"}),
                           ("draft", {"conversation": "s1", "text": "hello"})):
            answer = await rita.client.call(name, data, namespace="/agent")
            assert answer == {"ok": False, "error": "conversation 's1' is not assigned to you"}
        for client in (rita.client, sam.client, boss.client, ingest):
            await client.disconnect()


async def test_a_flood_from_one_source_does_not_stop_the_others(tmp_path: Path) -> None:
    limits = Limits(events_per_second=20, burst=40)
    settings = make_settings(tmp_path, limits=limits, sources={SOURCE: SOURCE_SECRET, "quiet": "quiet-secret"})
    async with running_server(settings) as srv, aiohttp.ClientSession() as http:
        async def post(source: str, secret: str, events: list[dict[str, object]]) -> int:
            body = json.dumps(events).encode()
            ts = str(int(time.time()))
            async with http.post(f"{srv.url}/api/v1/events", data=body, headers={
                    "X-Assist-Source": source, "X-Assist-Timestamp": ts,
                    "X-Assist-Signature": sign(secret, ts, body)}) as resp:
                return resp.status

        flood = await asyncio.gather(*(post(SOURCE, SOURCE_SECRET, [say(f"f{n}", "customer", "spam")] * 5)
                                       for n in range(40)))
        assert flood.count(429) >= 20 and 200 in flood
        quiet = [await post("quiet", "quiet-secret", [say("q1", "customer", f"hello {n}")]) for n in range(10)]
        assert quiet == [200] * 10
        oversize = await post("quiet", "quiet-secret", [say("q2", "customer", "x" * 17000)])
        assert oversize == 200  # accepted request, the event itself refused with a clear error
        events = await srv.hub.store.events("q2")
        assert events == []


def test_reports_keep_payloads_inert() -> None:
    result = Backtest(conversations=1, events=3)
    result.old_prompts["no-excuses"] = 1
    result.changes.append(Change("removed", XSS, "no-excuses", 2, None, XSS, "live",
                                 ({"event": 1, "role": "customer", "text": XSS},)))
    page = backtest_html(result, XSS, "new")
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    stats = PromptStats(XSS, fired=1)
    page = report_html([stats], conversations=1)
    assert "<script>alert(1)" not in page and "<img src=x" not in page


def test_redaction() -> None:
    text = ("mail jo.doe+x@example.co.uk, call +44 20 7946 0958 or (415) 555-0132, card 4111 1111 1111 1111; "
            "order 40-11873 on 2026-04-20 for $149.95, ref 12345678, not a card 4111 1111 1111 1112")
    assert redact(text) == ("mail [email], call [phone] or [phone], card [card]; order 40-11873 on 2026-04-20 for "
                            "$149.95, ref 12345678, not a card 4111 1111 1111 1112")


async def test_redaction_on_ingest_keeps_the_store_clean(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, redact=True)
    async with running_server(settings) as srv:
        ingest = await connect_ingest(srv.url)
        acks = await ingest.call("event", [start("p1", "rita"),
                                           say("p1", "customer", "I'm jo@example.com, card 4111-1111-1111-1111, "
                                                                 "this is ridiculous!!!")], namespace="/ingest")
        assert all(a["ok"] for a in acks)
        await ingest.disconnect()
    stored = "\n".join(r[0] for r in sqlite3.connect(settings.db).execute("SELECT body FROM events"))
    stored += "\n".join(r[0] for r in sqlite3.connect(settings.db).execute("SELECT body FROM prompts"))
    assert "jo@example.com" not in stored and "4111" not in stored and "[email]" in stored
