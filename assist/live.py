"""The live service: one Engine behind the server, with the store, routing and live timers.

Theory of operation
-------------------
Ingest (Socket.IO `/ingest`, REST, panel feedback) calls `ingest()` with a batch of
contract events. Each event goes through `Engine.ingest` at once, and its `turn` and
`prompt` records are pushed to panels straight away (the prompt is what must be
fast); the accepted events and the prompts are then written to the store in one
group commit, and only after that commit are the events acknowledged. If the commit
fails, the affected conversations are dropped from memory and rebuilt from the
store on their next event, so memory never holds what the store lost; the sender
gets "unavailable" and sends again (idempotency ids make that safe).

Routing: a conversation belongs to the agent named in its `start`. Agent panels sit
in the Socket.IO room `agent:<id>` of `/agent` and get only their conversations'
records; supervisors sit in `supervisors` on `/supervisor` and get supervisor
prompts and every conversation's summary with its risk. Shadow prompts are stored,
never pushed.

Timers: a task sleeps until `engine.next_due()` (woken early when an event moves it)
and calls `engine.tick(now)`. On start, open conversations are rebuilt by feeding
their stored events to the engine; prompts already stored are not pushed again
(prompt ids are deterministic), and timers carry on from the rebuilt clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .config import Settings
from .engine import Engine, Record
from .events import Draft, End, Feedback, Start, event_to_json
from .metrics import Metrics
from .outbox import deliveries
from .redact import redact
from .phrasebook import Phrasebook
from .store import Store, StoreUnavailable, WriteBatch
from .views import summary

log = logging.getLogger("assist.live")
AGENT_NS = "/agent"
SUPERVISOR_NS = "/supervisor"
SUPERVISORS = "supervisors"


class Emitter(Protocol):
    async def emit(self, event: str, data: Any, *, room: str, namespace: str) -> None: ...


def agent_room(agent: str) -> str:
    return f"agent:{agent}"


@dataclass
class Result:
    ok: bool
    conversation: str | None = None
    event: int | None = None
    error: str | None = None
    duplicate: bool = False
    unavailable: bool = False  # refused because the store cannot take writes (HTTP 503; retry later)

    def to_json(self) -> dict[str, Any]:
        if self.ok:
            out: dict[str, Any] = {"ok": True, "conversation": self.conversation, "event": self.event}
            if self.duplicate:
                out["duplicate"] = True
            return out
        out = {"ok": False, "error": self.error}
        if self.conversation is not None:
            out["conversation"] = self.conversation
        return out


def store_unavailable(results: list[Result]) -> str | None:
    """The store's error when it refused the whole batch (answer 503), else None."""
    if results and all(r.unavailable for r in results):
        return results[0].error or "store unavailable"
    return None


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class Hub:
    settings: Settings
    phrasebook: Phrasebook
    store: Store
    emitter: Emitter
    metrics: Metrics
    clock: Callable[[], float] = time.time
    engine: Engine = field(init=False)
    _wake: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _stale: set[str] = field(init=False, default_factory=set)      # to rebuild from the store
    _pushed: dict[str, set[str]] = field(init=False, default_factory=dict)  # rebuilt: prompt ids already stored
    _buckets: dict[str, _Bucket] = field(init=False, default_factory=dict)
    _ended_at: dict[str, float] = field(init=False, default_factory=dict)
    _lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    _stopping: bool = field(init=False, default=False)
    rebuild_on_start: bool = True  # False with a cluster: conversations are claimed, not all taken
    acked: dict[str, dict[str, Any]] = field(init=False, default_factory=dict)  # escalation alerts seen to

    def __post_init__(self) -> None:
        self.engine = Engine(self.phrasebook)

    # -- life -------------------------------------------------------------------------
    async def start(self) -> None:
        await self.store.open()
        if self.rebuild_on_start:
            for cid in await self.store.open_conversations():
                await self._rebuild(cid)
        self.metrics.open_conversations.set(self.open_count())
        self._tasks.append(asyncio.create_task(self._timer_loop(), name="assist-timers"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="assist-housekeeping"))

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.store.close()

    async def _rebuild(self, cid: str) -> None:
        self.engine.forget(cid)
        for body in await self.store.events(cid):
            self.engine.feed(body)
        self._pushed[cid] = await self.store.prompt_ids(cid)
        self._stale.discard(cid)

    async def use_phrasebook(self, book: Phrasebook) -> None:
        """Swap the live phrasebook between two batches; conversations and timers carry on."""
        async with self._lock:
            self.engine.use_phrasebook(book)
            self.phrasebook = book
        self._wake.set()

    def open_count(self) -> int:
        return self.engine.open_conversations

    # -- ingest -----------------------------------------------------------------------
    def rate_limited(self, source: str, count: int) -> bool:
        limits = self.settings.limits
        now = time.monotonic()
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = self._buckets[source] = _Bucket(float(limits.burst), now)
        bucket.tokens = min(float(limits.burst), bucket.tokens + (now - bucket.stamp) * limits.events_per_second)
        bucket.stamp = now
        if bucket.tokens < count:
            return True
        bucket.tokens -= count
        return False

    async def ingest(self, objs: list[Any], *, source: str, agent: str | None = None) -> list[Result]:
        """Apply a batch of contract events; results in order, after the durable commit."""
        received = self.clock()
        started = time.perf_counter()
        results: list[Result] = []
        batch = WriteBatch()
        touched: set[str] = set()
        pushes: list[tuple[str, Any, str, str]] = []
        async with self._lock:  # one batch at a time: its commit covers exactly its events
            for obj in objs:
                if self.settings.redact and isinstance(obj, dict) and isinstance(obj.get("text"), str):
                    obj = {**obj, "text": redact(obj["text"])}
                cid = obj.get("conversation") if isinstance(obj, dict) else None
                if isinstance(cid, str) and cid in self._stale:
                    try:
                        await self._rebuild(cid)
                    except StoreUnavailable as exc:
                        results.append(Result(False, cid, error=str(exc), unavailable=True))
                        continue
                if isinstance(cid, str) and self.engine.conversation(cid) is None and \
                        self.open_count() >= self.settings.limits.max_open_conversations:
                    results.append(Result(False, cid, error=(
                        f"too many open conversations in this process (limit "
                        f"{self.settings.limits.max_open_conversations}); end some or add a process")))
                    self.metrics.errors.labels("capacity").inc()
                    continue
                feedback_result = await self._feedback_for_forgotten(obj, batch, agent)
                if feedback_result is not None:
                    results.append(feedback_result)
                    continue
                outcome = self.engine.ingest(obj, now=received)
                if outcome.status == "rejected":
                    message = outcome.error or "rejected"
                    results.append(Result(False, cid if isinstance(cid, str) else None, error=message))
                    self.metrics.events.labels(_type(obj), "rejected").inc()
                    self.metrics.errors.labels(_error_kind(outcome.records)).inc()
                    continue
                event = outcome.event
                assert event is not None
                if outcome.status == "duplicate":
                    results.append(Result(True, event.conversation, None, duplicate=True))
                    self.metrics.events.labels(event.type, "duplicate").inc()
                    continue
                assert outcome.index is not None
                body = event_to_json(event)
                body["ts"] = outcome.ts
                if isinstance(event, Draft):
                    body["text"] = ""  # drafts are checked, never kept
                batch.add_event(event.conversation, outcome.index, outcome.ts, body, source, received)
                self._track(event, outcome.ts, batch, agent)
                touched.add(event.conversation)
                results.append(Result(True, event.conversation, outcome.index))
                self.metrics.events.labels(event.type, "accepted").inc()
                if isinstance(event, Start):  # panels learn who the customer is before any prompt
                    pushes.extend(self._views(event.conversation))
                pushes.extend(self._route(outcome.records, batch))
            for push in pushes:
                await self._push(*push)
            if pushes:
                self.metrics.prompt_latency.observe(time.perf_counter() - started)
            try:
                await self.store.write(batch)
            except StoreUnavailable as exc:
                log.error("store write failed: %s", exc)
                self.metrics.errors.labels("store").inc()
                for cid in touched:
                    self.engine.forget(cid)
                    self._stale.add(cid)
                return [r if not r.ok or r.duplicate
                        else Result(False, r.conversation, error=str(exc), unavailable=True) for r in results]
        for cid in touched:
            await self._announce(cid)
        self.metrics.open_conversations.set(self.open_count())
        self._wake.set()
        return results

    async def _feedback_for_forgotten(self, obj: Any, batch: WriteBatch, agent: str | None) -> Result | None:
        """Feedback on a prompt of a conversation no longer in memory: checked against the store."""
        if not (isinstance(obj, dict) and obj.get("type") == "feedback"):
            return None
        cid = obj.get("conversation")
        if not isinstance(cid, str) or self.engine.conversation(cid) is not None:
            return None
        prompt_id = obj.get("prompt")
        verdict = obj.get("verdict")
        if not isinstance(prompt_id, str) or verdict not in ("helpful", "not-helpful", "dismissed"):
            return None  # let the engine say what is wrong
        owner = await self.store.prompt_conversation(prompt_id)
        if owner != cid:
            return Result(False, cid, error=f"feedback names prompt {prompt_id!r}, which was not shown in "
                                            f"conversation {cid!r}")
        raw_ts = obj.get("ts")
        ts = float(raw_ts) if isinstance(raw_ts, int | float) else self.clock()
        batch.feedback.append((prompt_id, cid, verdict, ts, agent))
        return Result(True, cid, None)

    def _track(self, event: Any, ts: float, batch: WriteBatch, agent: str | None) -> None:
        if isinstance(event, Start):
            batch.conversations.append((event.conversation, event.agent.id if event.agent else None, "open", ts))
        elif isinstance(event, End):
            batch.conversations.append((event.conversation, None, "ended", ts))
            self._ended_at[event.conversation] = self.clock()
        elif isinstance(event, Feedback):
            batch.feedback.append((event.prompt, event.conversation, event.verdict, ts, agent))
        else:
            conv = self.engine.conversation(event.conversation)
            if conv is not None and conv.next_index == 1:  # first event and not a start
                batch.conversations.append((event.conversation, None, "open", ts))

    def _route(self, records: list[Record], batch: WriteBatch) -> list[tuple[str, Any, str, str]]:
        """Store every prompt; say where each record goes (event name, data, room, namespace)."""
        out: list[tuple[str, Any, str, str]] = []
        for rec in records:
            kind = rec["kind"]
            cid = rec.get("conversation")
            if kind == "error" or cid is None:
                continue
            conv = self.engine.conversation(cid)
            agent = conv.agent.id if conv is not None and conv.agent is not None else None
            if kind == "prompt":
                if rec.get("draft"):
                    continue
                already = rec["id"] in self._pushed.get(cid, ())
                if not already:
                    batch.prompts.append(rec)
                    if self.settings.webhooks:
                        batch.outbox.extend(deliveries([rec], self.settings, self.clock()))
                    self.metrics.prompts.labels(rec["prompt"], rec.get("mode", "live")).inc()
                if already or rec.get("mode") == "shadow":
                    continue
                if rec["audience"] == "supervisor":
                    out.append(("prompt", rec, SUPERVISORS, SUPERVISOR_NS))
                elif agent is not None:
                    out.append(("prompt", rec, agent_room(agent), AGENT_NS))
            elif kind == "turn" and agent is not None:
                out.append(("turn", rec, agent_room(agent), AGENT_NS))
        return out

    async def _push(self, event: str, data: Any, room: str, namespace: str) -> None:
        try:
            await self.emitter.emit(event, data, room=room, namespace=namespace)
        except Exception:  # a panel problem never holds up ingest
            log.exception("pushing %s to %s failed", event, room)
            self.metrics.errors.labels("push").inc()

    def _views(self, cid: str) -> list[tuple[str, Any, str, str]]:
        """The `conversation` messages that tell panels and the wall where a chat stands."""
        conv = self.engine.conversation(cid)
        if conv is None:
            return []
        view = summary(conv, self.clock(), turns=0)
        out = [("conversation", view, SUPERVISORS, SUPERVISOR_NS)]
        if conv.agent is not None:
            out.insert(0, ("conversation", view, agent_room(conv.agent.id), AGENT_NS))
        return out

    async def _announce(self, cid: str) -> None:
        for push in self._views(cid):
            await self._push(*push)

    # -- panels -----------------------------------------------------------------------
    async def room_joined(self, room: tuple[str, str]) -> None:
        """A panel's socket entered (namespace, room); one process has nobody to tell."""

    async def room_left(self, room: tuple[str, str]) -> None:
        """A panel's socket left (namespace, room)."""

    def agent_of(self, cid: str) -> str | None:
        conv = self.engine.conversation(cid)
        return conv.agent.id if conv is not None and conv.agent is not None else None

    async def snapshot(self, agent: str | None) -> dict[str, Any]:
        """Open conversations (of `agent`, or all for a supervisor) with recent prompts."""
        now = self.clock()
        items = []
        for conv in list(self.engine.conversations()):
            if conv.ended and now - self._ended_at.get(conv.id, now) > 60:
                continue
            if agent is not None and (conv.agent is None or conv.agent.id != agent):
                continue
            view = summary(conv, now)
            prompts = await self.store.recent_prompts(conv.id, 6)
            view["prompts"] = [p for p in prompts if agent is None or p["audience"] == "agent"]
            items.append(view)
        items.sort(key=lambda v: -v["risk"])
        return {"conversations": items, "ts": now, "phrasebook": self.phrasebook.fingerprint}

    async def detail(self, cid: str) -> dict[str, Any] | None:
        """One conversation for the wall: summary, its last 40 turns and every recent prompt."""
        conv = self.engine.conversation(cid)
        if conv is None:
            return None
        view = summary(conv, self.clock(), turns=40)
        view["prompts"] = await self.store.recent_prompts(cid, 30)
        for prompt in view["prompts"]:
            if prompt["id"] in self.acked:
                prompt["ack"] = self.acked[prompt["id"]]
        return view

    async def owner_agent(self, cid: str) -> str | None:
        """The agent a conversation belongs to (the cluster asks the owning process)."""
        return self.agent_of(cid)

    async def draft_warnings(self, cid: str, text: str) -> list[dict[str, Any]]:
        return self.check_draft(cid, text)

    def check_draft(self, cid: str, text: str) -> list[dict[str, Any]]:
        records = self.engine.check_draft(cid, text, self.clock())
        return [{"prompt": r["prompt"], "text": r["text"], "severity": r["severity"], "evidence": r["evidence"]}
                for r in records]

    async def whisper(self, cid: str, text: str, sender: str) -> dict[str, Any]:
        agent = self.agent_of(cid)
        if agent is None:
            return {"ok": False, "error": f"conversation {cid!r} is not open or has no agent"}
        message = {"conversation": cid, "text": text, "from": sender, "ts": self.clock()}
        await self._push("whisper", message, agent_room(agent), AGENT_NS)
        return {"ok": True, "agent": agent}

    # -- timers and housekeeping -----------------------------------------------------------
    async def _timer_loop(self) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
        # cancellation that stop() sends when the wake-up lands at the same moment,
        # and the loop would then never end.
        while not self._stopping:
            due = self.engine.next_due()
            delay = None if due is None else max(0.0, due - self.clock())
            self._wake.clear()
            if delay is None or delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                continue
            await self.fire_timers()

    async def fire_timers(self) -> None:
        async with self._lock:
            records = self.engine.tick(self.clock())
            if not records:
                return
            batch = WriteBatch()
            pushes = self._route(records, batch)
            for push in pushes:
                await self._push(*push)
            try:
                await self.store.write(batch)
            except StoreUnavailable as exc:
                log.error("storing timer prompts failed: %s", exc)
                self.metrics.errors.labels("store").inc()

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(30)
            now = self.clock()
            for cid, ended in list(self._ended_at.items()):
                if now - ended > self.settings.ended_grace:
                    self.engine.forget(cid)
                    self._pushed.pop(cid, None)
                    del self._ended_at[cid]
            if self.settings.retain_days > 0:
                with contextlib.suppress(StoreUnavailable):
                    await self.store.purge(now - self.settings.retain_days * 86400)
            self.metrics.open_conversations.set(self.open_count())


def _type(obj: Any) -> str:
    kind = obj.get("type") if isinstance(obj, dict) else None
    return kind if kind in ("start", "message", "hold", "draft", "end", "feedback") else "invalid"


def _error_kind(records: list[Record]) -> str:
    err = next((r for r in records if r["kind"] == "error"), None)
    return f"invalid-{err['field']}" if err and err.get("field") else "invalid"
