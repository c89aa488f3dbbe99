"""PostgreSQL behind the same `Store` interface as SQLite, for several server processes.

asyncpg with a small pool; every `write` is one transaction (so a batch's events,
prompts, outbox rows and conversation updates commit together, and the ack follows
the commit). Migrations are numbered SQL steps recorded in `schema_migrations`; `open`
applies the missing ones under an advisory lock, so processes starting together do
not race. `schema` puts the tables in a schema of their own (tests use a fresh one).
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from .store import PurgeBatch, StoreUnavailable, WriteBatch

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        seq BIGSERIAL PRIMARY KEY, conversation TEXT NOT NULL, idx INTEGER NOT NULL, ts DOUBLE PRECISION NOT NULL,
        type TEXT NOT NULL, body TEXT NOT NULL, source TEXT, received DOUBLE PRECISION NOT NULL,
        UNIQUE (conversation, idx));
    CREATE TABLE prompts (
        id TEXT PRIMARY KEY, conversation TEXT NOT NULL, prompt TEXT NOT NULL, event INTEGER NOT NULL,
        ts DOUBLE PRECISION NOT NULL, audience TEXT NOT NULL, shadow BOOLEAN NOT NULL DEFAULT FALSE,
        body TEXT NOT NULL, seq BIGSERIAL);
    CREATE INDEX prompts_by_conversation ON prompts (conversation, ts);
    CREATE TABLE feedback (
        seq BIGSERIAL PRIMARY KEY, prompt_id TEXT NOT NULL, conversation TEXT NOT NULL, verdict TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL, agent TEXT);
    CREATE INDEX feedback_by_prompt ON feedback (prompt_id);
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY, agent TEXT, status TEXT NOT NULL, started DOUBLE PRECISION NOT NULL,
        updated DOUBLE PRECISION NOT NULL);
    CREATE INDEX conversations_by_status ON conversations (status, updated);
    CREATE TABLE phrasebook_versions (
        seq BIGSERIAL PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, fingerprint TEXT NOT NULL, who TEXT NOT NULL,
        diff TEXT NOT NULL, note TEXT NOT NULL DEFAULT '');
    CREATE TABLE outbox (
        delivery TEXT PRIMARY KEY, url TEXT NOT NULL, body TEXT NOT NULL, created DOUBLE PRECISION NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_at DOUBLE PRECISION NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending', last_error TEXT NOT NULL DEFAULT '');
    CREATE INDEX outbox_due ON outbox (status, next_at);
    """,
)
LOCK_KEY = 0x5E45E  # pg_advisory_xact_lock key of the migrations


class PostgresStore:
    def __init__(self, dsn: str, *, schema: str = "public", pool_size: int = 4) -> None:
        self.dsn = dsn
        self.schema = schema
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._write_error: str | None = None

    # -- life ------------------------------------------------------------------------
    async def open(self) -> None:
        try:
            first = await asyncpg.connect(self.dsn)
            try:  # the schema exists before any pooled connection puts it on its search path
                async with first.transaction():
                    await first.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
                    await first.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            finally:
                await first.close()
            # a startup setting, not a SET: the pool's RESET ALL on release keeps it
            self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.pool_size,
                                                   server_settings={"search_path": f'"{self.schema}"'})
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
                await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                                   "(version INTEGER PRIMARY KEY, applied DOUBLE PRECISION NOT NULL)")
                done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
                for version, sql in enumerate(MIGRATIONS, 1):
                    if version not in done:
                        await conn.execute(sql)
                        await conn.execute("INSERT INTO schema_migrations VALUES ($1, extract(epoch from now()))",
                                           version)
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreUnavailable(f"cannot open the PostgreSQL store {self.dsn}: {exc}") from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def healthy(self) -> bool:
        if self._pool is None or self._write_error is not None:
            return False
        try:
            async with self._pool.acquire() as conn:
                return bool(await conn.fetchval("SELECT 1"))
        except (OSError, asyncpg.PostgresError):
            return False

    # -- writes ----------------------------------------------------------------------
    async def write(self, batch: WriteBatch) -> None:
        if not batch:
            return
        assert self._pool is not None, "store is not open"
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await self._apply(conn, batch)
            self._write_error = None
        except (OSError, asyncpg.PostgresError) as exc:
            self._write_error = str(exc)
            raise StoreUnavailable(f"the store cannot write ({exc}); nothing in this batch was kept, "
                                   "send it again later") from exc

    @staticmethod
    async def _apply(conn: asyncpg.Connection, batch: WriteBatch) -> None:
        if isinstance(batch, PurgeBatch):
            for table, column in (("events", "conversation"), ("prompts", "conversation"),
                                  ("feedback", "conversation"), ("conversations", "id")):
                await conn.execute(f"DELETE FROM {table} WHERE {column} = ANY($1::text[])", batch.ids)
            return
        if batch.events:
            await conn.executemany("INSERT INTO events (conversation, idx, ts, type, body, source, received) "
                                   "VALUES ($1, $2, $3, $4, $5, $6, $7)", batch.events)
        if batch.prompts:
            await conn.executemany(
                "INSERT INTO prompts (id, conversation, prompt, event, ts, audience, shadow, body) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
                [(p["id"], p["conversation"], p["prompt"], p["event"], p["ts"], p["audience"],
                  p.get("mode") == "shadow", json.dumps(p, ensure_ascii=False)) for p in batch.prompts])
        if batch.feedback:
            await conn.executemany("INSERT INTO feedback (prompt_id, conversation, verdict, ts, agent) "
                                   "VALUES ($1, $2, $3, $4, $5)", batch.feedback)
        if batch.outbox:
            await conn.executemany("INSERT INTO outbox (delivery, url, body, created, next_at) VALUES ($1, $2, $3, $4, "
                                   "$4) ON CONFLICT (delivery) DO NOTHING", batch.outbox)
        if batch.deliveries:
            await conn.executemany("UPDATE outbox SET status = $2, attempts = $3, next_at = $4, last_error = $5 "
                                   "WHERE delivery = $1", batch.deliveries)
        if batch.versions:
            await conn.executemany("INSERT INTO phrasebook_versions (ts, fingerprint, who, diff, note) "
                                   "VALUES ($1, $2, $3, $4, $5)", batch.versions)
        for cid, agent, status, ts in batch.conversations:
            await conn.execute(
                "INSERT INTO conversations (id, agent, status, started, updated) VALUES ($1, $2, $3, $4, $4) "
                "ON CONFLICT (id) DO UPDATE SET agent = COALESCE(excluded.agent, conversations.agent), "
                "status = excluded.status, updated = excluded.updated", cid, agent, status, ts)

    async def purge(self, before: float) -> int:
        ids = [r["id"] for r in await self._fetch(
            "SELECT id FROM conversations WHERE status != 'open' AND updated < $1", before)]
        if ids:
            await self.write(PurgeBatch(ids))
        return len(ids)

    # -- reads -----------------------------------------------------------------------
    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        assert self._pool is not None, "store is not open"
        try:
            async with self._pool.acquire() as conn:
                return list(await conn.fetch(sql, *args))
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreUnavailable(f"the store cannot be read ({exc})") from exc

    async def open_conversations(self) -> list[str]:
        return [r["id"] for r in await self._fetch("SELECT id FROM conversations WHERE status = 'open' "
                                                   "ORDER BY started")]

    async def events(self, conversation: str) -> list[dict[str, Any]]:
        rows = await self._fetch("SELECT body FROM events WHERE conversation = $1 ORDER BY idx", conversation)
        return [json.loads(r["body"]) for r in rows]

    async def event_count(self) -> int:
        return int((await self._fetch("SELECT COUNT(*) AS n FROM events"))[0]["n"])

    async def prompt_ids(self, conversation: str) -> set[str]:
        return {r["id"] for r in await self._fetch("SELECT id FROM prompts WHERE conversation = $1", conversation)}

    async def recent_prompts(self, conversation: str, limit: int) -> list[dict[str, Any]]:
        rows = await self._fetch(
            "SELECT body, (SELECT verdict FROM feedback f WHERE f.prompt_id = p.id ORDER BY seq DESC LIMIT 1) "
            "AS verdict FROM prompts p WHERE conversation = $1 AND NOT shadow ORDER BY ts DESC, seq DESC LIMIT $2",
            conversation, limit)
        out = []
        for row in reversed(rows):
            prompt = json.loads(row["body"])
            if row["verdict"] is not None:
                prompt["verdict"] = row["verdict"]
            out.append(prompt)
        return out

    async def prompt_conversation(self, prompt_id: str) -> str | None:
        rows = await self._fetch("SELECT conversation FROM prompts WHERE id = $1", prompt_id)
        return rows[0]["conversation"] if rows else None

    async def feedback(self) -> list[tuple[str, str, str, float]]:
        return [(r["prompt_id"], r["conversation"], r["verdict"], r["ts"]) for r in await self._fetch(
            "SELECT prompt_id, conversation, verdict, ts FROM feedback ORDER BY seq")]

    async def conversation_ids(self, since: float, limit: int) -> list[str]:
        return [r["id"] for r in await self._fetch(
            "SELECT id FROM conversations WHERE updated >= $1 ORDER BY updated DESC LIMIT $2", since, limit)]

    async def prompts_since(self, since: float) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in await self._fetch(
            "SELECT body FROM prompts WHERE ts >= $1 ORDER BY ts, seq", since)]

    async def phrasebook_versions(self, limit: int) -> list[dict[str, Any]]:
        return [dict(r) for r in await self._fetch(
            "SELECT seq, ts, fingerprint, who, diff, note FROM phrasebook_versions ORDER BY seq DESC LIMIT $1", limit)]

    async def due_deliveries(self, now: float, limit: int) -> list[dict[str, Any]]:
        return [dict(r) for r in await self._fetch(
            "SELECT delivery, url, body, attempts FROM outbox WHERE status = 'pending' AND next_at <= $1 "
            "ORDER BY next_at LIMIT $2", now, limit)]

    async def outbox_rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self._fetch(
            "SELECT delivery, url, status, attempts, last_error FROM outbox ORDER BY created")]

