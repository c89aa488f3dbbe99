"""The Store interface, the same checks on SQLite and on PostgreSQL (127.0.0.1:5432,
database `test`, a fresh schema per test), and a server restarted on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from assist.pgstore import PostgresStore
from assist.store import SQLiteStore, WriteBatch

from .server_helpers import connect_ingest, connect_panel, make_settings, running_server, token

DSN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    schema = f"assist_test_{uuid.uuid4().hex[:10]}"
    yield schema
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path, pg_schema: str) -> AsyncIterator[Any]:
    made: Any = SQLiteStore(tmp_path / "s.sqlite3") if request.param == "sqlite" else PostgresStore(DSN, schema=pg_schema)
    await made.open()
    yield made
    await made.close()


def prompt(pid: str, cid: str, ts: float, **extra: Any) -> dict[str, Any]:
    return {"kind": "prompt", "id": pid, "prompt": "no-excuses", "conversation": cid, "event": 2, "ts": ts,
            "severity": "warn", "audience": "agent", "text": "t", "evidence": [], **extra}


async def test_the_store_interface(store: Any) -> None:
    batch = WriteBatch()
    for idx, kind in enumerate(("start", "message", "message")):
        batch.add_event("c1", idx, 10.0 + idx, {"conversation": "c1", "type": kind, "ts": 10.0 + idx}, "console", 99.0)
    batch.add_event("c2", 0, 5.0, {"conversation": "c2", "type": "start", "ts": 5.0}, "console", 99.0)
    batch.prompts += [prompt("c1:p1", "c1", 11.0), prompt("c1:p2", "c1", 12.0, mode="shadow"),
                      prompt("c1:p3", "c1", 12.0)]
    batch.conversations += [("c1", "rita", "open", 10.0), ("c2", "sam", "open", 5.0)]
    batch.versions.append((1.0, "abc", "file", "--- diff", ""))
    batch.outbox.append(("c1:p1@x", "http://hook", '{"a": 1}', 11.0))
    await store.write(batch)
    await store.write(WriteBatch(feedback=[("c1:p1", "c1", "not-helpful", 13.0, "rita"),
                                           ("c1:p1", "c1", "helpful", 14.0, "rita")],
                                 conversations=[("c2", None, "ended", 20.0)],
                                 deliveries=[("c1:p1@x", "sent", 1, 15.0, "")]))
    assert await store.open_conversations() == ["c1"]
    assert [e["type"] for e in await store.events("c1")] == ["start", "message", "message"]
    assert await store.prompt_ids("c1") == {"c1:p1", "c1:p2", "c1:p3"}
    recent = await store.recent_prompts("c1", 5)
    assert [p["id"] for p in recent] == ["c1:p1", "c1:p3"] and recent[0]["verdict"] == "helpful"
    assert await store.prompt_conversation("c1:p3") == "c1" and await store.prompt_conversation("x") is None
    assert [f[2] for f in await store.feedback()] == ["not-helpful", "helpful"]
    assert await store.conversation_ids(0, 10) == ["c2", "c1"]
    assert [p["id"] for p in await store.prompts_since(11.5)] == ["c1:p2", "c1:p3"]
    assert (await store.phrasebook_versions(5))[0]["who"] == "file"
    assert await store.due_deliveries(100.0, 10) == []
    assert [(r["status"], r["attempts"]) for r in await store.outbox_rows()] == [("sent", 1)]
    assert await store.healthy()
    with pytest.raises(Exception):  # the same (conversation, index) twice: nothing of the batch is kept
        dup = WriteBatch()
        dup.add_event("c1", 0, 1.0, {"conversation": "c1", "type": "start"}, None, 1.0)
        dup.prompts.append(prompt("c9:p1", "c9", 1.0))
        await store.write(dup)
    assert await store.prompt_ids("c9") == set()
    assert await store.purge(100.0) == 1
    assert await store.events("c2") == [] and await store.events("c1") != []


async def test_migrations_are_applied_once_by_processes_starting_together(pg_schema: str) -> None:
    stores = [PostgresStore(DSN, schema=pg_schema) for _ in range(3)]
    await asyncio.gather(*(s.open() for s in stores))
    conn = await asyncpg.connect(DSN)
    try:
        versions = await conn.fetch(f'SELECT version FROM "{pg_schema}".schema_migrations')
    finally:
        await conn.close()
    assert [r["version"] for r in versions] == [1]
    for s in stores:
        await s.close()


async def test_a_server_on_postgresql_restarts_with_its_conversations(tmp_path: Path, pg_schema: str) -> None:
    settings = make_settings(tmp_path, store=DSN, store_schema=pg_schema)
    now = time.time()
    async with running_server(settings) as srv:
        ingest = await connect_ingest(srv.url)
        acks = await ingest.call("event", [
            {"conversation": "pg1", "type": "start", "ts": now, "agent": {"id": "rita"}, "customer": {"name": "Jo"}},
            {"conversation": "pg1", "type": "message", "role": "customer", "ts": now, "text": "Where is my parcel?!"},
            {"conversation": "pg1", "type": "message", "role": "agent", "ts": now,
             "text": "That's our policy, nothing I can do."}], namespace="/ingest")
        assert all(a["ok"] for a in acks)
        await ingest.disconnect()
    async with running_server(settings) as srv:
        rita = await connect_panel(srv.url, token("rita"))
        snap = rita.of("snapshot")[0]
        [conv] = snap["conversations"]
        assert conv["conversation"] == "pg1" and conv["customer"]["name"] == "Jo"
        assert "no-excuses" in [p["prompt"] for p in conv["prompts"]]
        ingest = await connect_ingest(srv.url)
        ack = await ingest.call("event", {"conversation": "pg1", "type": "message", "role": "customer",
                                          "ts": now + 1, "text": "ok"}, namespace="/ingest")
        assert ack[0]["event"] == 3  # the rebuilt conversation goes on where it was
        await ingest.disconnect()
        await rita.client.disconnect()
    assert json.dumps(conv)  # serialisable snapshot
