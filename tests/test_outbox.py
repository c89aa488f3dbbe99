"""Outgoing webhooks: signed, retried with backoff under one delivery id, and kept in
the store across a restart. A real receiver (aiohttp) on loopback."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from assist.config import Settings
from assist.outbox import wanted
from assist.signing import check

from .server_helpers import connect_ingest, free_port, make_settings, running_server

HOOK_SECRET = "hook-secret-for-tests"
ANGRY = "This is the third time I write!!! Refund me now or I'm calling my lawyer and cancelling everything."


class Receiver:
    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        if len(self.requests) <= self.fail_first:
            return web.Response(status=500, text="not now")
        return web.json_response({"ok": True})

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Receiver]:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        try:
            yield self
        finally:
            await runner.cleanup()


def chat(cid: str) -> list[dict[str, Any]]:
    return [{"conversation": cid, "type": "start", "agent": {"id": "rita"}, "customer": {"name": "Rex"}},
            {"conversation": cid, "type": "message", "role": "customer", "text": ANGRY}]


async def wait_for(check_fn: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check_fn():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not in time")


def test_which_prompts_go_out() -> None:
    escalation = {"kind": "prompt", "audience": "supervisor", "severity": "critical"}
    tip = {"kind": "prompt", "audience": "agent", "severity": "warn"}
    assert wanted(escalation, "escalation") == "escalation"
    assert wanted(tip, "escalation") is None and wanted(tip, "prompts") == "prompt"
    assert wanted({**tip, "severity": "critical"}, "critical") == "prompt"
    assert wanted({**escalation, "mode": "shadow"}, "prompts") is None
    assert wanted({**tip, "draft": True}, "prompts") is None


async def test_retries_under_one_delivery_id_then_stops(tmp_path: Path) -> None:
    receiver = Receiver(fail_first=2)
    settings = make_settings(tmp_path, webhooks={receiver.url: HOOK_SECRET}, webhook_backoff=0.05)
    async with receiver.running(), running_server(settings) as srv:
        ingest = await connect_ingest(srv.url)
        acks = await ingest.call("event", chat("w1"), namespace="/ingest")
        assert all(a["ok"] for a in acks)
        await wait_for(lambda: len(receiver.requests) >= 3)
        await asyncio.sleep(0.8)  # no fourth request after the success
        assert len(receiver.requests) == 3
        ids = {headers["X-Assist-Delivery"] for headers, _ in receiver.requests}
        assert len(ids) == 1
        headers, body = receiver.requests[-1]
        assert check(HOOK_SECRET, headers["X-Assist-Timestamp"], body, headers["X-Assist-Signature"],
                     now=time.time(), max_age=300) is None
        assert b'"event": "escalation"' in body and b'"prompt": "escalation-risk"' in body
        rows = await srv.hub.store.outbox_rows()
        assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 3)]
        await ingest.disconnect()


async def test_the_outbox_survives_a_restart(tmp_path: Path) -> None:
    receiver = Receiver()
    settings: Settings = make_settings(tmp_path, webhooks={receiver.url: HOOK_SECRET}, webhook_backoff=0.05)
    async with running_server(settings) as srv:  # the receiver is down
        ingest = await connect_ingest(srv.url)
        await ingest.call("event", chat("w2"), namespace="/ingest")
        await wait_for(lambda: sqlite3.connect(settings.db).execute(
            "SELECT attempts FROM outbox").fetchone()[0] >= 1)
        await ingest.disconnect()
    async with receiver.running(), running_server(settings):
        await wait_for(lambda: len(receiver.requests) == 1)
        await asyncio.sleep(0.6)
        assert len(receiver.requests) == 1
    status = sqlite3.connect(settings.db).execute("SELECT status FROM outbox").fetchall()
    assert status == [("sent",)]
