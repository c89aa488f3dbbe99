"""The live server with real parts: loopback port, Socket.IO clients, aiohttp REST client, SQLite."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest
import socketio

from assist import Engine, load_phrasebook
from assist.config import Limits
from assist.signing import sign

from .conftest import DATA, load_jsonl
from .server_helpers import (
    SOURCE,
    SOURCE_SECRET,
    connect_ingest,
    connect_panel,
    make_settings,
    running_server,
    token,
)


def start(cid: str, agent: str, ts: float, **customer: object) -> dict:
    return {"conversation": cid, "type": "start", "ts": ts, "agent": {"id": agent}, "customer": customer}


def msg(cid: str, role: str, text: str, ts: float, **extra: object) -> dict:
    return {"conversation": cid, "type": "message", "role": role, "text": text, "ts": ts, **extra}


async def test_prompt_reaches_only_the_assigned_agent(tmp_path: Path) -> None:
    async with running_server(make_settings(tmp_path)) as srv:
        rita = await connect_panel(srv.url, token("rita"))
        sam = await connect_panel(srv.url, token("sam"))
        boss = await connect_panel(srv.url, token("boss", "supervisor"), "/supervisor")
        ingest = await connect_ingest(srv.url)
        now = time.time()
        acks = await ingest.call("event", [start("c1", "rita", now), start("c2", "sam", now)], namespace="/ingest")
        assert [a["ok"] for a in acks] == [True, True] and [a["event"] for a in acks] == [0, 0]
        ack = await ingest.call("event", msg("c1", "customer", "Where is my parcel?", now + 1), namespace="/ingest")
        assert ack == [{"ok": True, "conversation": "c1", "event": 1}]
        await ingest.call("event", msg("c1", "agent", "The courier lost it, that's their fault, not ours.", now + 2),
                          namespace="/ingest")
        prompt = await rita.wait_for("prompt", lambda p: p["prompt"] == "no-excuses")
        assert prompt["conversation"] == "c1" and prompt["event"] == 2
        await asyncio.sleep(0.2)
        assert all(d["conversation"] != "c1" for _, d in sam.received if isinstance(d, dict) and "conversation" in d)
        conv = await boss.wait_for("conversation", lambda c: c["conversation"] == "c1")
        assert "risk" in conv
        for c in (rita, sam, boss):
            await c.client.disconnect()
        await ingest.disconnect()


async def test_snapshot_on_connect_has_the_agents_conversations(tmp_path: Path) -> None:
    async with running_server(make_settings(tmp_path)) as srv:
        ingest = await connect_ingest(srv.url)
        now = time.time()
        await ingest.call("event", [start("c1", "rita", now, name="Jo", tier="vip"),
                                    msg("c1", "customer", "My order never arrived and I need it today!!", now + 1),
                                    start("c2", "sam", now)], namespace="/ingest")
        rita = await connect_panel(srv.url, token("rita"))
        snap = rita.of("snapshot")[0]
        assert [c["conversation"] for c in snap["conversations"]] == ["c1"]
        c1 = snap["conversations"][0]
        assert c1["customer"]["tier"] == "vip" and c1["turns"][0]["text"].startswith("My order")
        assert c1["customer_type"]["label"] == "vip" and c1["prompts"]
        assert c1["timers"]["waiting"] is not None
        await rita.client.disconnect()
        await ingest.disconnect()


async def test_bad_tokens_and_secrets_are_refused(tmp_path: Path) -> None:
    async with running_server(make_settings(tmp_path)) as srv:
        for auth, ns in (({"token": "forged.jwt.value"}, "/agent"),
                         ({"token": token("rita", ttl=-5)}, "/agent"),
                         ({"token": token("rita")}, "/supervisor"),
                         ({}, "/agent"),
                         ({"source": SOURCE, "secret": "wrong"}, "/ingest"),
                         ({"source": "nobody", "secret": SOURCE_SECRET}, "/ingest")):
            client = socketio.AsyncClient(reconnection=False)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await client.connect(srv.url, namespaces=[ns], auth=auth, transports=["websocket"])
            await client.disconnect()


async def test_bad_events_get_clear_errors_and_others_go_on(tmp_path: Path) -> None:
    async with running_server(make_settings(tmp_path)) as srv:
        ingest = await connect_ingest(srv.url)
        now = time.time()
        acks = await ingest.call("event", [
            msg("ok", "customer", "hello", now),
            {"conversation": "bad", "type": "message", "role": "customer", "text": "x" * 17000},
            {"type": "message"},
            "not an object",
            msg("ok", "customer", "again", now + 1, id="m-1"),
            msg("ok", "customer", "again", now + 1, id="m-1"),
        ], namespace="/ingest")
        assert [a["ok"] for a in acks] == [True, False, False, False, True, True]
        assert "16,384 bytes" in acks[1]["error"] and "conversation" in acks[2]["error"]
        assert acks[5].get("duplicate") is True and acks[4]["event"] == 1
        await ingest.disconnect()


async def test_rest_ingest_signed_and_refused(tmp_path: Path) -> None:
    async with running_server(make_settings(tmp_path)) as srv, aiohttp.ClientSession() as http:
        body = json.dumps([start("r1", "rita", time.time()), msg("r1", "customer", "hi", time.time())]).encode()
        ts = str(int(time.time()))
        headers = {"X-Assist-Source": SOURCE, "X-Assist-Timestamp": ts,
                   "X-Assist-Signature": sign(SOURCE_SECRET, ts, body), "Content-Type": "application/json"}
        async with http.post(f"{srv.url}/api/v1/events", data=body, headers=headers) as resp:
            assert resp.status == 200
            assert [r["event"] for r in (await resp.json())["results"]] == [0, 1]
        bad = {**headers, "X-Assist-Signature": "sha256=00"}
        async with http.post(f"{srv.url}/api/v1/events", data=body, headers=bad) as resp:
            assert resp.status == 401 and "bad signature" in (await resp.json())["error"]
        old = str(int(time.time()) - 600)
        stale = {**headers, "X-Assist-Timestamp": old, "X-Assist-Signature": sign(SOURCE_SECRET, old, body)}
        async with http.post(f"{srv.url}/api/v1/events", data=body, headers=stale) as resp:
            assert resp.status == 401 and "clock" in (await resp.json())["error"]
        junk = b"{not json"
        junk_headers = {**headers, "X-Assist-Signature": sign(SOURCE_SECRET, ts, junk)}
        async with http.post(f"{srv.url}/api/v1/events", data=junk, headers=junk_headers) as resp:
            assert resp.status == 400 and "not valid JSON" in (await resp.json())["error"]
        async with http.post(f"{srv.url}/api/v1/events", data=body, headers={**headers, "X-Assist-Source": "x"}) as r:
            assert r.status == 401


async def test_rest_rate_limit_and_size(tmp_path: Path) -> None:
    limits = Limits(events_per_second=1, burst=3, max_body_bytes=4096)
    async with running_server(make_settings(tmp_path, limits=limits)) as srv, aiohttp.ClientSession() as http:
        async def post(events: list[dict]) -> aiohttp.ClientResponse:
            body = json.dumps(events).encode()
            ts = str(int(time.time()))
            return await http.post(f"{srv.url}/api/v1/events", data=body, headers={
                "X-Assist-Source": SOURCE, "X-Assist-Timestamp": ts, "X-Assist-Signature": sign(SOURCE_SECRET, ts, body)})
        now = time.time()
        assert (await post([msg("q", "customer", "a", now), msg("q", "customer", "b", now)])).status == 200
        limited = await post([msg("q", "customer", "c", now), msg("q", "customer", "d", now)])
        assert limited.status == 429 and "rate limited" in (await limited.json())["error"]
        big = await post([msg("q", "customer", "x" * 5000, now)])
        assert big.status == 413


async def test_feedback_draft_and_whisper(tmp_path: Path) -> None:
    async with running_server(make_settings(tmp_path)) as srv:
        rita = await connect_panel(srv.url, token("rita"))
        boss = await connect_panel(srv.url, token("boss", "supervisor"), "/supervisor")
        ingest = await connect_ingest(srv.url)
        now = time.time()
        await ingest.call("event", [start("c1", "rita", now), msg("c1", "customer", "My order arrived broken.", now),
                                    msg("c1", "agent", "That's not true, you must have dropped it.", now + 1)],
                          namespace="/ingest")
        prompt = await rita.wait_for("prompt", lambda p: p["prompt"] == "dont-argue")
        ack = await rita.client.call("feedback", {"conversation": "c1", "prompt": prompt["id"], "verdict": "helpful"},
                                     namespace="/agent")
        assert ack["ok"] is True
        rows = await srv.hub.store.feedback()
        assert rows[-1][:3] == (prompt["id"], "c1", "helpful")
        warnings = await rita.client.call("draft", {"conversation": "c1", "text": "Sorry, our policy says no."},
                                          namespace="/agent")
        assert any(w["prompt"] == "no-excuses" for w in warnings)
        other = await rita.client.call("draft", {"conversation": "nope", "text": "hi"}, namespace="/agent")
        assert other["ok"] is False and "not assigned to you" in other["error"]
        ack = await boss.client.call("whisper", {"conversation": "c1", "text": "Offer a replacement."},
                                     namespace="/supervisor")
        assert ack == {"ok": True, "agent": "rita"}
        whisper = await rita.wait_for("whisper")
        assert whisper["text"] == "Offer a replacement." and whisper["from"] == "boss"
        for c in (rita.client, boss.client, ingest):
            await c.disconnect()


async def test_live_timers_give_the_same_prompts_as_replay(tmp_path: Path) -> None:
    now = time.time()
    events = [start("t1", "rita", now), msg("t1", "customer", "Can you check my refund?", now + 0.1),
              msg("t1", "agent", "Let me check, one moment.", now + 0.2)]
    engine = Engine(load_phrasebook())
    replayed = [r for e in events for r in engine.feed(e)] + engine.tick(now + 0.2 + 61)
    async with running_server(make_settings(tmp_path)) as srv:
        clock = {"offset": 0.0}
        srv.hub.clock = lambda: time.time() + clock["offset"]
        rita = await connect_panel(srv.url, token("rita"))
        ingest = await connect_ingest(srv.url)
        await ingest.call("event", events, namespace="/ingest")
        clock["offset"] = 61.0  # the hub's clock jumps a minute ahead
        srv.hub._wake.set()
        live = await rita.wait_for("prompt", lambda p: p["prompt"] == "hold-update")
        want = next(r for r in replayed if r["kind"] == "prompt" and r["prompt"] == "hold-update")
        assert {k: live[k] for k in ("id", "prompt", "event", "ts", "text")} == \
               {k: want[k] for k in ("id", "prompt", "event", "ts", "text")}
        await rita.client.disconnect()
        await ingest.disconnect()


async def test_healthz_and_metrics(tmp_path: Path) -> None:
    async with running_server(make_settings(tmp_path)) as srv, aiohttp.ClientSession() as http:
        ingest = await connect_ingest(srv.url)
        await ingest.call("event", load_jsonl(DATA / "two-chats.jsonl"), namespace="/ingest")
        async with http.get(f"{srv.url}/healthz") as resp:
            assert resp.status == 200 and (await resp.json())["ok"] is True
        async with http.get(f"{srv.url}/metrics") as resp:
            text = await resp.text()
        assert 'assist_events_total{status="accepted",type="message"} 8.0' in text
        assert 'assist_prompts_total{mode="live",prompt="no-excuses"}' in text
        assert "assist_message_to_prompt_seconds_bucket" in text
        await ingest.disconnect()


async def test_export_of_a_live_chat_replays_to_the_same_prompts(tmp_path: Path) -> None:
    import subprocess
    import sys

    events = [e for e in load_jsonl(DATA / "two-chats.jsonl") if e["conversation"] == "ex-1"]
    base = time.time() - 1000
    events = [{**e, "ts": base + e["ts"]} for e in events]
    settings = make_settings(tmp_path)
    async with running_server(settings) as srv:
        ingest = await connect_ingest(srv.url)
        for event in events:  # one by one, as a console would
            await ingest.call("event", event, namespace="/ingest")
        await ingest.disconnect()
    out = subprocess.run([sys.executable, "-m", "assist", "export", "ex-1", "--db", settings.db],
                         capture_output=True, text=True, check=True).stdout
    exported = [json.loads(line) for line in out.splitlines()]
    assert [e["type"] for e in exported] == [e["type"] for e in events]

    def prompts_of(evts: list[dict]) -> list[tuple]:
        engine = Engine(load_phrasebook())
        recs = [r for e in evts for r in engine.feed(e)]
        return [(r["prompt"], r["event"], r["ts"]) for r in recs if r["kind"] == "prompt"]

    assert prompts_of(exported) == prompts_of(events)
