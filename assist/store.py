"""The durable store: accepted events, prompts and feedback, append-only.

`Store` is the small interface the server uses (PostgreSQL will implement it too);
`SQLiteStore` is the embedded default. Writes go through one writer thread that
commits whatever has queued up in a single transaction (group commit, WAL mode,
`synchronous=FULL`), and `write()` returns only after that commit: the server
acknowledges an event only then. Reads use their own connection in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import AssistError

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL,
    idx INTEGER NOT NULL,
    ts REAL NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    source TEXT,
    received REAL NOT NULL,
    UNIQUE (conversation, idx)
);
CREATE TABLE IF NOT EXISTS prompts (
    id TEXT PRIMARY KEY,
    conversation TEXT NOT NULL,
    prompt TEXT NOT NULL,
    event INTEGER NOT NULL,
    ts REAL NOT NULL,
    audience TEXT NOT NULL,
    shadow INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS prompts_by_conversation ON prompts (conversation, ts);
CREATE TABLE IF NOT EXISTS feedback (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    prompt_id TEXT NOT NULL,
    conversation TEXT NOT NULL,
    verdict TEXT NOT NULL,
    ts REAL NOT NULL,
    agent TEXT
);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    agent TEXT,
    status TEXT NOT NULL,
    started REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS phrasebook_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    fingerprint TEXT NOT NULL,
    who TEXT NOT NULL,
    diff TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS outbox (
    delivery TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_at);
CREATE INDEX IF NOT EXISTS feedback_by_prompt ON feedback (prompt_id);
CREATE INDEX IF NOT EXISTS conversations_by_status ON conversations (status, updated);
"""


class StoreUnavailable(AssistError):
    """The store cannot take writes (disk full, read-only, gone); nothing was acknowledged."""


@dataclass
class WriteBatch:
    events: list[tuple[str, int, float, str, str, str | None, float]] = field(default_factory=list)
    prompts: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[tuple[str, str, str, float, str | None]] = field(default_factory=list)
    conversations: list[tuple[str, str | None, str, float]] = field(default_factory=list)  # id, agent, status, ts
    versions: list[tuple[float, str, str, str, str]] = field(default_factory=list)  # ts, fingerprint, who, diff, note
    outbox: list[tuple[str, str, str, float]] = field(default_factory=list)  # delivery, url, body, created
    deliveries: list[tuple[str, str, int, float, str]] = field(default_factory=list)  # delivery, status, attempts,
    #                                                                                   next_at, last error

    def __bool__(self) -> bool:
        return bool(self.events or self.prompts or self.feedback or self.conversations or self.versions
                    or self.outbox or self.deliveries)

    def add_event(self, conversation: str, index: int, ts: float, body: dict[str, Any], source: str | None,
                  received: float) -> None:
        self.events.append((conversation, index, ts, body["type"], json.dumps(body, ensure_ascii=False),
                            source, received))


class Store(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def write(self, batch: WriteBatch) -> None: ...
    async def open_conversations(self) -> list[str]: ...
    async def events(self, conversation: str) -> list[dict[str, Any]]: ...
    async def prompt_ids(self, conversation: str) -> set[str]: ...
    async def recent_prompts(self, conversation: str, limit: int) -> list[dict[str, Any]]: ...
    async def prompt_conversation(self, prompt_id: str) -> str | None: ...
    async def purge(self, before: float) -> int: ...
    async def healthy(self) -> bool: ...
    async def conversation_ids(self, since: float, limit: int) -> list[str]: ...
    async def prompts_since(self, since: float) -> list[dict[str, Any]]: ...
    async def feedback(self) -> list[tuple[str, str, str, float]]: ...
    async def phrasebook_versions(self, limit: int) -> list[dict[str, Any]]: ...
    async def due_deliveries(self, now: float, limit: int) -> list[dict[str, Any]]: ...


_STOP = object()


class SQLiteStore:
    """SQLite in WAL mode behind one writer thread with group commit."""

    def __init__(self, path: str | Path, *, max_group: int = 512) -> None:
        self.path = Path(path)
        self.max_group = max_group
        self._queue: queue.Queue[Any] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._write_error: str | None = None

    # -- life ------------------------------------------------------------------------
    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._writer = threading.Thread(target=self._write_loop, args=(asyncio.get_running_loop(), ready),
                                        name="assist-store-writer", daemon=True)
        self._writer.start()
        await ready
        self._reader = sqlite3.connect(self.path, check_same_thread=False)
        self._reader.execute("PRAGMA query_only = ON")

    async def close(self) -> None:
        if self._writer is not None:
            self._queue.put(_STOP)
            await asyncio.get_running_loop().run_in_executor(None, self._writer.join)
            self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA busy_timeout = 5000")
        return conn

    # -- writes ----------------------------------------------------------------------
    async def write(self, batch: WriteBatch) -> None:
        if not batch:
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.put((batch, done, loop))
        await done

    def _write_loop(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Future[None]) -> None:
        try:
            conn = self._connect()
            conn.executescript(SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.Error as exc:
            loop.call_soon_threadsafe(ready.set_exception, StoreUnavailable(f"cannot open store {self.path}: {exc}"))
            return
        loop.call_soon_threadsafe(ready.set_result, None)
        while True:
            item = self._queue.get()
            if item is _STOP:
                conn.close()
                return
            group = [item]
            while len(group) < self.max_group:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    self._queue.put(_STOP)
                    break
                group.append(nxt)
            error: Exception | None = None
            try:
                conn.execute("BEGIN IMMEDIATE")
                for batch, _, _ in group:
                    self._apply(conn, batch)
                conn.execute("COMMIT")
                self._write_error = None
            except sqlite3.Error as exc:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                self._write_error = str(exc)
                error = StoreUnavailable(f"the store cannot write ({exc}); nothing in this batch was kept, "
                                         "send it again later")
            for _, fut, fut_loop in group:
                if error is None:
                    fut_loop.call_soon_threadsafe(_resolve, fut, None)
                else:
                    fut_loop.call_soon_threadsafe(_resolve, fut, error)

    @staticmethod
    def _apply(conn: sqlite3.Connection, batch: WriteBatch) -> None:
        if isinstance(batch, PurgeBatch):
            for table, column in (("events", "conversation"), ("prompts", "conversation"),
                                  ("feedback", "conversation"), ("conversations", "id")):
                conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(i,) for i in batch.ids])
            return
        if batch.events:
            conn.executemany("INSERT INTO events (conversation, idx, ts, type, body, source, received) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", batch.events)
        if batch.prompts:
            conn.executemany(
                "INSERT OR IGNORE INTO prompts (id, conversation, prompt, event, ts, audience, shadow, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(p["id"], p["conversation"], p["prompt"], p["event"], p["ts"], p["audience"],
                  int(p.get("mode") == "shadow"), json.dumps(p, ensure_ascii=False)) for p in batch.prompts])
        if batch.feedback:
            conn.executemany("INSERT INTO feedback (prompt_id, conversation, verdict, ts, agent) VALUES (?, ?, ?, ?, ?)",
                             batch.feedback)
        if batch.outbox:
            conn.executemany("INSERT OR IGNORE INTO outbox (delivery, url, body, created, next_at) "
                             "VALUES (?, ?, ?, ?, ?)", [(d, u, b, c, c) for d, u, b, c in batch.outbox])
        if batch.deliveries:
            conn.executemany("UPDATE outbox SET status = ?, attempts = ?, next_at = ?, last_error = ? "
                             "WHERE delivery = ?", [(st, a, n, e, d) for d, st, a, n, e in batch.deliveries])
        if batch.versions:
            conn.executemany("INSERT INTO phrasebook_versions (ts, fingerprint, who, diff, note) VALUES (?, ?, ?, ?, ?)",
                             batch.versions)
        for cid, agent, status, ts in batch.conversations:
            conn.execute(
                "INSERT INTO conversations (id, agent, status, started, updated) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET agent = COALESCE(excluded.agent, conversations.agent), "
                "status = excluded.status, updated = excluded.updated", (cid, agent, status, ts, ts))

    # -- reads -----------------------------------------------------------------------
    async def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            assert self._reader is not None, "store is not open"
            with self._read_lock:
                return self._reader.execute(sql, args).fetchall()
        return await asyncio.get_running_loop().run_in_executor(None, run)

    async def open_conversations(self) -> list[str]:
        rows = await self._read("SELECT id FROM conversations WHERE status = 'open' ORDER BY started")
        return [r[0] for r in rows]

    async def events(self, conversation: str) -> list[dict[str, Any]]:
        rows = await self._read("SELECT body FROM events WHERE conversation = ? ORDER BY idx", (conversation,))
        return [json.loads(r[0]) for r in rows]

    async def event_count(self) -> int:
        return int((await self._read("SELECT COUNT(*) FROM events"))[0][0])

    async def prompt_ids(self, conversation: str) -> set[str]:
        rows = await self._read("SELECT id FROM prompts WHERE conversation = ?", (conversation,))
        return {r[0] for r in rows}

    async def recent_prompts(self, conversation: str, limit: int) -> list[dict[str, Any]]:
        """The latest prompts, oldest first, each with the agent's last `verdict` when there is one."""
        rows = await self._read(
            "SELECT body, (SELECT verdict FROM feedback f WHERE f.prompt_id = p.id ORDER BY seq DESC LIMIT 1) "
            "FROM prompts p WHERE conversation = ? AND shadow = 0 ORDER BY ts DESC, rowid DESC LIMIT ?",
            (conversation, limit))
        out = []
        for body, verdict in reversed(rows):
            prompt = json.loads(body)
            if verdict is not None:
                prompt["verdict"] = verdict
            out.append(prompt)
        return out

    async def prompt_conversation(self, prompt_id: str) -> str | None:
        rows = await self._read("SELECT conversation FROM prompts WHERE id = ?", (prompt_id,))
        return rows[0][0] if rows else None

    async def feedback(self) -> list[tuple[str, str, str, float]]:
        return [tuple(r) for r in await self._read(
            "SELECT prompt_id, conversation, verdict, ts FROM feedback ORDER BY seq")]

    async def conversation_ids(self, since: float, limit: int) -> list[str]:
        """Conversations updated at or after `since`, newest first."""
        rows = await self._read("SELECT id FROM conversations WHERE updated >= ? ORDER BY updated DESC LIMIT ?",
                                (since, limit))
        return [r[0] for r in rows]

    async def prompts_since(self, since: float) -> list[dict[str, Any]]:
        """Every stored prompt (shadow ones included) fired at or after `since`, in order."""
        rows = await self._read("SELECT body FROM prompts WHERE ts >= ? ORDER BY ts, rowid", (since,))
        return [json.loads(r[0]) for r in rows]

    async def due_deliveries(self, now: float, limit: int) -> list[dict[str, Any]]:
        """Outgoing webhook deliveries that are pending and due, oldest first."""
        rows = await self._read("SELECT delivery, url, body, attempts FROM outbox WHERE status = 'pending' "
                                "AND next_at <= ? ORDER BY next_at LIMIT ?", (now, limit))
        return [dict(zip(("delivery", "url", "body", "attempts"), r, strict=True)) for r in rows]

    async def outbox_rows(self) -> list[dict[str, Any]]:
        rows = await self._read("SELECT delivery, url, status, attempts, last_error FROM outbox ORDER BY created")
        return [dict(zip(("delivery", "url", "status", "attempts", "last_error"), r, strict=True)) for r in rows]

    async def phrasebook_versions(self, limit: int) -> list[dict[str, Any]]:
        rows = await self._read("SELECT seq, ts, fingerprint, who, diff, note FROM phrasebook_versions "
                                "ORDER BY seq DESC LIMIT ?", (limit,))
        return [dict(zip(("seq", "ts", "fingerprint", "who", "diff", "note"), r, strict=True)) for r in rows]

    async def purge(self, before: float) -> int:
        """Delete conversations that ended before `before` (retention); returns how many."""
        rows = await self._read("SELECT id FROM conversations WHERE status != 'open' AND updated < ?", (before,))
        ids = [r[0] for r in rows]
        if not ids:
            return 0
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.put((PurgeBatch(ids), done, loop))
        await done
        return len(ids)

    async def healthy(self) -> bool:
        return self._writer is not None and self._writer.is_alive() and self._write_error is None


class PurgeBatch(WriteBatch):
    """Deletes conversations (retention) instead of writing; every store applies it."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__()
        self.ids = ids

    def __bool__(self) -> bool:
        return True


def _resolve(fut: asyncio.Future[None], error: Exception | None) -> None:
    if fut.done():
        return
    if error is None:
        fut.set_result(None)
    else:
        fut.set_exception(error)
