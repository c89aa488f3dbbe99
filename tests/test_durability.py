"""A real `assist serve` process killed with SIGKILL mid-stream: nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

import socketio

from .browser.harness import ServerProcess
from .server_helpers import SOURCE, SOURCE_SECRET, connect_panel, token


async def test_sigkill_loses_no_acknowledged_event_and_timers_resume(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    await asyncio.to_thread(server.start)
    url, db, proc = server.url, server.db, server.proc
    assert proc is not None
    acked: list[tuple[str, int]] = []
    try:
        ingest = socketio.AsyncClient(reconnection=False)
        await ingest.connect(url, namespaces=["/ingest"], auth={"source": SOURCE, "secret": SOURCE_SECRET},
                             transports=["websocket"])
        now = time.time()
        for n in range(20):
            await ingest.call("event", {"conversation": f"k{n}", "type": "start", "ts": now,
                                        "agent": {"id": "rita"}}, namespace="/ingest")
        # one chat left waiting on "one moment" (50 s ago, so the 60 s timer is due after the
        # kill): its hold timer must survive the kill
        await ingest.call("event", [{"conversation": "hold", "type": "start", "ts": now - 50, "agent": {"id": "rita"}},
                                    {"conversation": "hold", "type": "message", "role": "agent", "ts": now - 50,
                                     "text": "Let me check that, one moment."}], namespace="/ingest")

        async def stream() -> None:
            i = 0
            while True:
                batch = [{"conversation": f"k{(i + j) % 20}", "type": "message", "role": "customer",
                          "ts": time.time(), "text": f"message {i + j} about my late order", "id": f"m{i + j}"}
                         for j in range(5)]
                i += 5
                acks = await ingest.call("event", batch, namespace="/ingest", timeout=5)
                acked.extend((a["conversation"], a["event"]) for a in acks if a["ok"])

        task = asyncio.create_task(stream())
        await asyncio.sleep(1.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        try:
            await asyncio.wait_for(task, 10)
        except (TimeoutError, socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError, socketio.exceptions.DisconnectedError):
            pass
        await ingest.disconnect()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert len(acked) > 50, "the stream should have been acknowledged for a while before the kill"
    with sqlite3.connect(db) as conn:
        stored = set(conn.execute("SELECT conversation, idx FROM events").fetchall())
    missing = [a for a in acked if a not in stored]
    assert missing == [], f"{len(missing)} acknowledged events are not in the store"

    # restart on the same store and port: conversations are rebuilt and the hold timer still fires
    await asyncio.to_thread(server.start)
    try:
        rita = await connect_panel(url, token("rita"))
        snap = rita.of("snapshot")[0]
        assert {c["conversation"] for c in snap["conversations"]} >= {"hold", "k0", "k19"}
        k0 = next(c for c in snap["conversations"] if c["conversation"] == "k0")
        assert k0["turns"], "rebuilt conversations keep their recent turns"
        # the timer is due about 10 s after the chats started: on a slow restart it fires while the
        # conversations are rebuilt, before the panel connects, and then the snapshot carries it
        hold = next(c for c in snap["conversations"] if c["conversation"] == "hold")
        fired = [p for p in hold["prompts"] if p["prompt"] == "hold-update"]
        prompt = fired[0] if fired else await rita.wait_for(
            "prompt", lambda p: p["prompt"] == "hold-update" and p["conversation"] == "hold", timeout=30)
        assert prompt["event"] == 1
        await rita.client.disconnect()
    finally:
        await asyncio.to_thread(server.stop)
