"""Two server processes on one Redis (a redis-server of the test's own) and one
PostgreSQL schema: events reach each conversation's owner wherever they come in,
panels on either process get the prompts, and a process killed with SIGKILL hands its
conversations (and their timers) over with nothing acknowledged lost."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis

from .browser.harness import ServerProcess
from .server_helpers import connect_ingest, connect_panel, cpu_seconds, free_port, token
from .test_stores import DSN


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
            break
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait()


@pytest.fixture
def schema() -> str:
    return f"assist_cluster_{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def cluster(tmp_path: Path, redis_url: str, schema: str) -> AsyncIterator[list[ServerProcess]]:
    env = {"ASSIST_REDIS": redis_url, "ASSIST_STORE": DSN, "ASSIST_STORE_SCHEMA": schema,
           "ASSIST_LEASE_SECONDS": "2", "ASSIST_WATCH_PHRASEBOOKS": "false"}
    procs = []
    try:
        for name in ("a", "b"):
            folder = tmp_path / name
            folder.mkdir()
            proc = ServerProcess(folder, extra_env=env)
            procs.append(proc)
            await asyncio.to_thread(proc.start)
        yield procs
    finally:  # also when the second one never came up: no process left behind
        for proc in procs:
            await asyncio.to_thread(proc.stop)
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def start(cid: str, ts: float) -> dict[str, Any]:
    return {"conversation": cid, "type": "start", "ts": ts, "agent": {"id": "rita"}, "customer": {"name": cid}}


def say(cid: str, role: str, text: str, ts: float, n: int) -> dict[str, Any]:
    return {"conversation": cid, "type": "message", "role": role, "text": text, "ts": ts, "id": f"{cid}-{n}"}


async def test_events_reach_the_owner_and_panels_anywhere(cluster: list[ServerProcess], redis_url: str) -> None:
    a, b = cluster
    ingest_b = await connect_ingest(b.url)
    now = time.time()
    ack = await ingest_b.call("event", start("x1", now), namespace="/ingest")  # owned by b
    panel = await connect_panel(a.url, token("rita"))  # her panel opens on a afterwards
    await panel.snapshot.wait()
    acks = await ingest_b.call("event", [say("x1", "customer", "Where is my parcel?!", now, 1),
                                         say("x1", "agent", "That's our policy, nothing I can do.", now, 2)],
                               namespace="/ingest")
    assert [x["event"] for x in [*ack, *acks]] == [0, 1, 2]
    prompt = await panel.wait_for("prompt", lambda p: p["prompt"] == "no-excuses")  # pushed by b, delivered by a
    assert prompt["conversation"] == "x1"
    r = aioredis.from_url(redis_url, decode_responses=True)
    owner = await r.get("assist:owner:x1")
    ingest_a = await connect_ingest(a.url)
    ack = await ingest_a.call("event", say("x1", "customer", "So what now??", now + 1, 3), namespace="/ingest")
    assert ack == [{"ok": True, "conversation": "x1", "event": 3}]  # forwarded to the owner: the same numbering
    assert await r.get("assist:owner:x1") == owner
    snap = await panel.client.call("snapshot", namespace="/agent")  # put together from both processes
    assert [c["conversation"] for c in snap["conversations"]] == ["x1"]
    draft = await panel.client.call("draft", {"conversation": "x1", "text": "That's company policy."},
                                    namespace="/agent")
    assert "no-excuses" in [w["prompt"] for w in draft]
    await r.aclose()
    for client in (panel.client, ingest_a, ingest_b):
        await client.disconnect()


async def test_sigkill_moves_conversations_and_their_timers(cluster: list[ServerProcess], redis_url: str,
                                                            schema: str) -> None:
    a, b = cluster
    ingest_b = await connect_ingest(b.url)
    now = time.time()
    acked: list[tuple[str, int]] = []
    for n in range(6):
        cid = f"k{n}"
        acks = await ingest_b.call("event", [start(cid, now), say(cid, "customer", "Hello, my order is late", now, 1)],
                                   namespace="/ingest")
        acked += [(x["conversation"], x["event"]) for x in acks if x["ok"]]
    # left on "one moment" 55 s ago: hold-update is due in about 5 s, after the kill
    acks = await ingest_b.call("event", [start("hold", now - 55), say("hold", "customer", "Any news?", now - 55, 1),
                                         say("hold", "agent", "Let me check, one moment.", now - 55, 2)],
                               namespace="/ingest")
    acked += [(x["conversation"], x["event"]) for x in acks if x["ok"]]
    r = aioredis.from_url(redis_url, decode_responses=True)
    owners = {await r.get(f"assist:owner:{c}") for c in ["hold", *(f"k{n}" for n in range(6))]}
    assert len(owners) == 1  # all on b
    # rita's panel opens on a after her chats started (before, they would have been placed on a)
    panel = await connect_panel(a.url, token("rita"))
    await ingest_b.disconnect()
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    ingest_a = await connect_ingest(a.url)
    for n in range(6):
        cid = f"k{n}"
        for _ in range(40):  # the sender retries until the lease has run out
            ack = (await ingest_a.call("event", say(cid, "customer", "Still waiting!!", time.time(), 2),
                                       namespace="/ingest", timeout=15))[0]
            if ack["ok"]:
                acked.append((cid, ack["event"]))
                assert ack["event"] == 2  # rebuilt from the store: the numbering goes on
                break
            await asyncio.sleep(0.25)
        else:
            raise AssertionError(f"{cid} never moved")
    await panel.wait_for("prompt", lambda p: p["conversation"] == "hold" and p["prompt"] == "hold-update", timeout=15)
    conn = await asyncpg.connect(DSN)
    try:
        stored = {(x["conversation"], x["idx"]) for x in await conn.fetch(
            f'SELECT conversation, idx FROM "{schema}".events')}
    finally:
        await conn.close()
    assert set(acked) <= stored  # nothing acknowledged was lost
    ids = [p["id"] for p in panel.of("prompt")]
    assert len(ids) == len(set(ids))  # no prompt pushed twice
    await r.aclose()
    for client in (panel.client, ingest_a):
        await client.disconnect()


async def test_a_redis_restart_loses_nothing_acknowledged(cluster: list[ServerProcess], redis_url: str,
                                                          schema: str, tmp_path: Path) -> None:
    a, b = cluster
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    panel = await connect_panel(a.url, token("rita"))
    ingest = {p.url: await connect_ingest(p.url) for p in (a, b)}
    acked: set[tuple[str, int]] = set()
    now = time.time()

    async def send(url: str, events: list[dict[str, Any]]) -> None:
        try:
            results = await ingest[url].call("event", events, namespace="/ingest", timeout=15)
        except Exception:  # noqa: BLE001 - a lost connection: nothing was acknowledged
            return
        acked.update((r["conversation"], r["event"]) for r in results if r.get("ok"))

    for n in range(4):
        await send(b.url, [start(f"r{n}", now), say(f"r{n}", "customer", "hello", now, 1)])
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
    for n in range(4):  # during the outage: refused or acknowledged, never lost
        await send(a.url, [say(f"r{n}", "customer", "anyone?", time.time(), 2)])
    # an outage longer than the first retries: waiting for Redis costs (almost) no CPU
    # (a resubscription that failed once used to leave a process spinning, deaf for good)
    await asyncio.sleep(2)
    pids = [p.proc.pid for p in (a, b) if p.proc is not None]
    before = [cpu_seconds(pid) for pid in pids]
    await asyncio.sleep(3)
    used = [cpu_seconds(pid) - start for pid, start in zip(pids, before)]
    assert max(used) < 1.0, f"CPU seconds used in 3 s of waiting for Redis: {used}"
    restarted = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        await asyncio.sleep(1.5)
        deadline = time.monotonic() + 20
        done: set[str] = set()
        while time.monotonic() < deadline and len(done) < 4:
            for n in range(4):
                cid = f"r{n}"
                if cid in done:
                    continue
                before = len(acked)
                await send(a.url, [say(cid, "agent", "That's our policy, nothing I can do.", time.time(), 3)])
                if len(acked) > before:
                    done.add(cid)
            await asyncio.sleep(0.2)
        assert len(done) == 4, "the processes did not come back after the Redis restart"
        await panel.wait_for("prompt", lambda p: p["prompt"] == "no-excuses", timeout=10)
        conn = await asyncpg.connect(DSN)
        try:
            stored = {(x["conversation"], x["idx"]) for x in await conn.fetch(
                f'SELECT conversation, idx FROM "{schema}".events')}
        finally:
            await conn.close()
        assert acked <= stored
    finally:
        for client in (panel.client, *ingest.values()):
            await client.disconnect()
        restarted.terminate()
        restarted.wait()


async def test_emits_cross_redis_only_for_panels_on_another_process(cluster: list[ServerProcess],
                                                                     redis_url: str) -> None:
    """No panel anywhere: nothing on python-socketio's channel. A panel on the owner: its
    records go out locally. A panel on the other process: through Redis, and it gets them."""
    a, b = cluster
    r = aioredis.from_url(redis_url, decode_responses=True)
    relayed: list[str] = []
    sub = r.pubsub()
    await sub.subscribe("assist-socketio")

    async def count() -> None:
        async for message in sub.listen():
            if message["type"] == "message":
                relayed.append(message["data"])

    counter = asyncio.create_task(count())
    async with aiohttp.ClientSession() as http:  # until then every emit goes through Redis, by design
        for proc in (a, b):
            for _ in range(100):
                async with http.get(f"{proc.url}/healthz") as reply:
                    if (await reply.json()).get("rooms_known"):
                        break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"{proc.url} never heard the other process's rooms")
    ingest = await connect_ingest(b.url)
    now = time.time()

    async def send(n: int, text: str = "Where is my parcel?! Two weeks now!") -> None:
        ack = await ingest.call("event", say("r1", "customer", text, now + n, n), namespace="/ingest")
        assert ack[0]["ok"], ack

    await ingest.call("event", start("r1", now), namespace="/ingest")
    await send(1)
    assert await r.get("assist:owner:r1") is not None
    await asyncio.sleep(0.3)
    assert relayed == [], "nobody is watching: nothing to relay"

    here = await connect_panel(b.url, token("rita"))  # on the owner's process
    await here.snapshot.wait()
    await send(2)
    await here.wait_for("turn", lambda t: t["event"] == 2)
    await asyncio.sleep(0.3)
    assert relayed == [], "the only panel is on the owner's process"

    there = await connect_panel(a.url, token("rita"))  # on the other process
    await there.snapshot.wait()
    await send(3)
    await there.wait_for("turn", lambda t: t["event"] == 3)
    await here.wait_for("turn", lambda t: t["event"] == 3)
    assert relayed, "a panel on the other process is reached through Redis"
    assert len(here.of("turn")) == len({t["event"] for t in here.of("turn")}), "no record twice"

    await there.client.disconnect()
    await asyncio.sleep(0.3)
    before = len(relayed)
    await send(4)
    await here.wait_for("turn", lambda t: t["event"] == 4)
    await asyncio.sleep(0.3)
    assert len(relayed) == before, "the other panel left: back to local emits"

    # a new chat for an agent whose panel is on the other process is placed there
    pia = await connect_panel(a.url, token("pia"))
    await pia.snapshot.wait()
    placed = {**start("p1", now), "agent": {"id": "pia"}}
    acks = await ingest.call("event", [placed, say("p1", "customer", "It broke AGAIN!!", now + 1, 1)],
                             namespace="/ingest")
    assert [x["ok"] for x in acks] == [True, True]
    assert await r.get("assist:owner:p1") != await r.get("assist:owner:r1"), "placed on the process that holds pia's panel, not where the event came in"
    await pia.wait_for("turn", lambda t: t["conversation"] == "p1" and t["event"] == 1)
    await asyncio.sleep(0.3)
    assert len(relayed) == before, "pia's records went out where her panel is"
    counter.cancel()
    await sub.aclose()
    await r.aclose()
    for client in (here.client, pia.client, ingest):
        await client.disconnect()
