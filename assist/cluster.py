"""Several server processes on Redis and PostgreSQL: who owns which conversation.

Each conversation's engine state lives in exactly one process at a time:

* Ownership is a Redis key `assist:owner:<conversation>` holding the process id, set
  with NX and an expiry (`lease_seconds`), renewed by its owner every third of a lease.
  Each process also keeps `assist:alive:<process>` alive the same way.
* An event that comes in anywhere goes to the owner: the receiving process claims the
  conversation when nobody holds it (rebuilding it from the shared store first), handles
  it when it is the owner, and otherwise forwards the batch to the owner over Redis
  pub/sub and waits for its results (the owner's ack, after the owner's commit).
* A new conversation whose `start` names an agent with a panel open on another process
  is placed there (that process claims it), so its records reach the panel without
  crossing Redis; only the events travel.
* When an owner dies, its alive key runs out: the next event for one of its
  conversations, or the takeover scan every half lease (which claims open conversations
  nobody owns), moves the conversation to a live process, rebuilt from the store with
  its clocks, so its timers fire. Prompts already stored are not pushed again.
* Panels and supervisors may sit on any process: python-socketio's Redis manager
  carries an emit to the process that holds the socket. A `RoomDirectory` (rooms.py)
  knows which process holds sockets in which room, so an emit skips Redis when only
  this process, or nobody, is in the room. A panel's snapshot is put together from
  every live process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from .live import AGENT_NS, Hub, Result, agent_room
from .rooms import ROOMS_CHANNEL, Room, RoomDirectory

log = logging.getLogger("assist.cluster")
FORWARD_TIMEOUT = 5.0
RESUBSCRIBE_FIRST = 0.5  # seconds after losing the subscription; doubles while Redis stays away
RESUBSCRIBE_MAX = 10.0
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
# Who owns a conversation, in one round trip: claim it when nobody does or its holder's
# alive key ran out (KEYS[1] the owner key; ARGV: this process, lease ms, alive-key prefix).
# Returns {holder, 1 if this call claimed it}.
SETTLE = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {ARGV[1], 1} end
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then return {holder, 0} end
if holder and redis.call('exists', ARGV[3] .. holder) == 1 then return {holder, 0} end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {ARGV[1], 1}
"""


def process_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Cluster:
    """The hub's face when several processes share the work (same methods the namespaces use)."""

    def __init__(self, hub: Hub, url: str, *, lease: float = 10.0, name: str | None = None) -> None:
        self.hub = hub
        self.url = url
        self.lease = lease
        self.name = name or process_name()
        self.redis: aioredis.Redis = aioredis.from_url(url, decode_responses=True)
        self._waiting: dict[str, asyncio.Future[Any]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._pubsub: Any = None
        self.rooms = RoomDirectory(self.name)
        self.handlers: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "ingest": self._serve_ingest, "snapshot": self._serve_snapshot, "agent": self._serve_agent,
            "place": self._serve_place, "draft": self._serve_draft, "whisper": self._serve_whisper, "detail": self._serve_detail,
        }

    def __getattr__(self, name: str) -> Any:  # everything else is the local hub's
        return getattr(self.hub, name)

    # -- life ---------------------------------------------------------------------------
    async def start(self) -> None:
        await self.redis.set(self._alive(self.name), "1", px=int(self.lease * 1000))
        self._pubsub = self.redis.pubsub()
        await self._pubsub.subscribe(self._inbox(self.name), ROOMS_CHANNEL)
        self._tasks = [asyncio.create_task(self._listen(), name="assist-cluster-listen"),
                       asyncio.create_task(self._learn_rooms(), name="assist-cluster-rooms"),
                       asyncio.create_task(self._keep_alive(), name="assist-cluster-leases"),
                       asyncio.create_task(self._take_over(), name="assist-cluster-takeover")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            for conv in list(self.hub.engine.conversations()):  # hand over at once on a clean stop
                await self.redis.eval(RELEASE, 1, self._owner(conv.id), self.name)
            await self.redis.delete(self._alive(self.name))
            await self._tell_rooms(self.rooms.bye())
            if self._pubsub is not None:
                await self._pubsub.aclose()
            await self.redis.aclose()

    async def _holder(self, cid: str) -> str | None:
        value = await self.redis.get(self._owner(cid))
        return None if value is None else str(value)

    @staticmethod
    def _owner(cid: str) -> str:
        return f"assist:owner:{cid}"

    @staticmethod
    def _alive(name: str) -> str:
        return f"assist:alive:{name}"

    @staticmethod
    def _inbox(name: str) -> str:
        return f"assist:inbox:{name}"

    # -- ownership -----------------------------------------------------------------------
    async def owner(self, cid: str) -> str:
        """The live owner of `cid`, claiming it for this process when nobody (alive) holds it."""
        return (await self.owners([cid]))[cid]

    async def owners(self, cids: list[str]) -> dict[str, str]:
        """`owner` for several conversations in one Redis round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for cid in cids:
            pipe.eval(SETTLE, 1, self._owner(cid), self.name, int(self.lease * 1000), self._alive(""))
        found: dict[str, str] = {}
        for cid, (holder, _claimed) in zip(cids, await pipe.execute(), strict=True):
            if holder == self.name and self.hub.engine.conversation(cid) is None:
                await self._adopt(cid)  # just claimed, or held here before a restart of this state
            found[cid] = str(holder)
        return found

    async def _adopt(self, cid: str) -> None:
        """A conversation this process just claimed: its state from the store, timers included."""
        async with self.hub._lock:
            await self.hub._rebuild(cid)
        self.hub._wake.set()

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                ms = int(self.lease * 1000)
                pipe = self.redis.pipeline()
                pipe.set(self._alive(self.name), "1", px=ms)
                mine = [c.id for c in self.hub.engine.conversations()]
                for cid in mine:
                    pipe.get(self._owner(cid))
                answers = await pipe.execute()
                await self._tell_rooms(self.rooms.full())  # heals a lost join or leave
                renew = self.redis.pipeline()
                for cid, holder in zip(mine, answers[1:], strict=True):
                    if holder == self.name:
                        renew.pexpire(self._owner(cid), ms)
                    elif holder is None and await self.redis.set(self._owner(cid), self.name, nx=True, px=ms):
                        continue  # Redis lost its keys (a restart): this process still holds the chat
                    else:  # taken over while this process was stalled: let it go
                        self.hub.engine.forget(cid)
                await renew.execute()
            except aioredis.RedisError as exc:
                log.warning("renewing leases failed (will retry): %s", exc)

    async def _take_over(self) -> None:
        """Open conversations whose owner died, with no event to bring them back: claim them."""
        while True:
            await asyncio.sleep(self.lease / 2)
            try:
                self.rooms.keep_only(await self._alive_processes())
                for cid in await self.hub.store.open_conversations():
                    if self.hub.engine.conversation(cid) is not None:
                        continue
                    holder = await self._holder(cid)
                    if holder is None or not await self.redis.exists(self._alive(holder)):
                        await self.owner(cid)
            except Exception as exc:  # the scan must go on whatever one round met
                log.warning("takeover scan failed (will retry): %s", exc)

    # -- calls between processes ---------------------------------------------------------
    async def _call(self, target: str, kind: str, **payload: Any) -> Any:
        call_id = uuid.uuid4().hex
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        try:
            message = json.dumps({"id": call_id, "kind": kind, "from": self.name, "payload": payload})
            if not await self.redis.publish(self._inbox(target), message):
                raise ConnectionError(f"process {target} is not listening")
            return await asyncio.wait_for(future, FORWARD_TIMEOUT)
        finally:
            self._waiting.pop(call_id, None)

    async def _listen(self) -> None:
        delay = RESUBSCRIBE_FIRST
        while True:
            try:
                assert self._pubsub is not None
                async for message in self._pubsub.listen():
                    delay = RESUBSCRIBE_FIRST
                    self._dispatch(message)
                # listen() also ends, without an error, on a pubsub with nothing subscribed
                # (a resubscription that failed): that is a lost subscription too
                reason = "not subscribed"
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
                reason = str(exc)
            log.warning("lost the Redis subscription (%s); subscribing again in %.1f s", reason, delay)
            self.rooms.complete = False  # joins and leaves may have been missed meanwhile
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESUBSCRIBE_MAX)
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self._inbox(self.name), ROOMS_CHANNEL)
            except (aioredis.RedisError, OSError):
                with contextlib.suppress(aioredis.RedisError, OSError):
                    await pubsub.aclose()
                continue
            old, self._pubsub = self._pubsub, pubsub
            with contextlib.suppress(aioredis.RedisError, OSError):
                await old.aclose()
            self._tasks.append(asyncio.create_task(self._learn_rooms(), name="assist-cluster-rooms"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        try:
            data = json.loads(message["data"])
        except ValueError:
            return
        if message.get("channel") == ROOMS_CHANNEL:  # handled in order, before any later call
            answer = self.rooms.receive(data)
            if answer is not None:
                asyncio.create_task(self._tell_rooms(answer))
            return
        if "reply" in data:
            future = self._waiting.get(data["reply"])
            if future is not None and not future.done():
                future.set_result(data.get("result"))
            return
        asyncio.create_task(self._answer(data))

    async def _answer(self, data: dict[str, Any]) -> None:
        handler = self.handlers.get(data.get("kind", ""))
        try:
            result = await handler(data.get("payload") or {}) if handler else None
        except Exception as exc:  # the caller gets an error, never silence
            log.exception("cluster call %s failed", data.get("kind"))
            result = {"error": str(exc)}
        await self.redis.publish(self._inbox(data["from"]), json.dumps({"reply": data["id"], "result": result}))

    async def _alive_processes(self) -> list[str]:
        names = []
        async for key in self.redis.scan_iter(match="assist:alive:*", count=100):
            names.append(key.split(":", 2)[2])
        return names

    # -- who holds which room ---------------------------------------------------------------
    async def _tell_rooms(self, message: dict[str, Any] | None) -> None:
        if message is not None:
            with contextlib.suppress(aioredis.RedisError, OSError):
                await self.redis.publish(ROOMS_CHANNEL, json.dumps(message))

    async def _learn_rooms(self, patience: float = 2.0) -> None:
        """Ask every process for its rooms; until every live one has answered, assume any may
        hold any room (emits go through Redis). Asks again while one is missing."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.redis.publish(ROOMS_CHANNEL, json.dumps(self.rooms.hello()))
                await self._tell_rooms(self.rooms.full())
                alive = await self._alive_processes()
            except (aioredis.RedisError, OSError) as exc:
                log.warning("asking for the other processes' rooms failed (will retry): %s", exc)
                await asyncio.sleep(patience)
                continue
            deadline = loop.time() + patience
            while not self.rooms.heard_from_all(alive) and loop.time() < deadline:
                await asyncio.sleep(0.05)
            if self.rooms.heard_from_all(alive):
                self.rooms.keep_only(alive)
                self.rooms.complete = True
                return

    async def room_joined(self, room: Room) -> None:
        """A panel's socket entered `room` here; the others hear it before its snapshot is built."""
        await self._tell_rooms(self.rooms.joined(room))

    async def room_left(self, room: Room) -> None:
        await self._tell_rooms(self.rooms.left(room))

    # -- what the namespaces call ---------------------------------------------------------
    def _placement(self, obj: Any) -> str | None:
        """The process holding the panel of the agent a conversation starts with, when that is
        another one: placed there, its records go out without crossing Redis."""
        named = obj.get("agent") if isinstance(obj, dict) and obj.get("type") == "start" else None
        agent_id = named.get("id") if isinstance(named, dict) else None
        if not isinstance(agent_id, str):
            return None
        room = (AGENT_NS, agent_room(agent_id))
        return None if self.rooms.held_here(room) else self.rooms.holder_of(room)

    async def ingest(self, objs: list[Any], *, source: str, agent: str | None = None,
                     placed: bool = False) -> list[Result]:
        """Events in order; each goes to its conversation's owner. Results in input order.

        Conversations this process holds are handled at once, with no Redis round trip
        (the lease loop drops any it lost), and all of them in one batch: one commit."""
        by_owner: dict[str, list[int]] = defaultdict(list)
        settled: dict[str, str] = {}
        here: list[int] = []  # held here, or malformed (rejected here with the reason)
        elsewhere: list[tuple[int, str]] = []
        for n, obj in enumerate(objs):
            cid = obj.get("conversation") if isinstance(obj, dict) else None
            if not isinstance(cid, str) or not cid or self.hub.engine.conversation(cid) is not None:
                here.append(n)
                continue
            elsewhere.append((n, cid))
            if cid not in settled:
                settled[cid] = ""
                try:
                    place = None if placed else self._placement(obj)
                    if place is not None and await self._holder(cid) is None:
                        settled[cid] = f"@{place}"  # that process claims it
                except Exception as exc:  # noqa: BLE001 - Redis unreachable: refuse, the sender retries
                    settled[cid] = f"!{exc}"
        unsettled = [cid for cid, holder in settled.items() if not holder]
        if unsettled:
            try:
                settled.update(await self.owners(unsettled))
            except Exception as exc:  # noqa: BLE001 - Redis unreachable: refuse, the sender retries
                settled.update({cid: f"!{exc}" for cid in unsettled})
        by_owner[self.name].extend(here)
        for n, cid in elsewhere:
            by_owner[settled[cid]].append(n)
        for positions in by_owner.values():
            positions.sort()
        results: list[Result | None] = [None] * len(objs)

        async def run(holder: str, positions: list[int]) -> None:
            batch = [objs[n] for n in positions]
            if holder.startswith("!"):
                out = [Result(False, batch[0].get("conversation"), error=f"the cluster cannot be reached "
                                                                          f"({holder[1:]}); send it again")
                       for _ in batch]
            elif holder == self.name:
                out = await self.hub.ingest(batch, source=source, agent=agent)
            elif holder.startswith("@"):
                try:
                    answer = await self._call(holder[1:], "place", objs=batch, source=source, agent=agent)
                    out = [Result(**r) for r in answer]
                except ConnectionError:  # that process is gone: claim here as usual
                    out = await self.ingest(batch, source=source, agent=agent, placed=True)
                except TimeoutError:
                    out = [Result(False, o.get("conversation"), error="the process that was to hold this "
                                                                     "conversation did not answer; send it again")
                           for o in batch]
            else:
                try:
                    answer = await self._call(holder, "ingest", objs=batch, source=source, agent=agent)
                    out = [Result(**r) for r in answer]
                except (TimeoutError, ConnectionError) as exc:
                    out = [Result(False, o.get("conversation"), error=f"the process that holds this conversation "
                                                                     f"did not answer ({exc or 'timeout'}); nothing "
                                                                     "was stored, send it again") for o in batch]
            for n, result in zip(positions, out, strict=True):
                results[n] = result

        await asyncio.gather(*(run(holder, positions) for holder, positions in by_owner.items()))
        return [r for r in results if r is not None]

    async def snapshot(self, agent: str | None) -> dict[str, Any]:
        """The agent's conversations from every live process, most at risk first."""
        mine = await self.hub.snapshot(agent)
        others = [p for p in await self._alive_processes() if p != self.name]
        parts = await asyncio.gather(*(self._call(p, "snapshot", agent=agent) for p in others),
                                     return_exceptions=True)
        for part in parts:
            if isinstance(part, dict):
                mine["conversations"].extend(part.get("conversations", []))
        mine["conversations"].sort(key=lambda v: -v["risk"])
        return mine

    async def _elsewhere(self, cid: str) -> str | None:
        """The live process that holds `cid` when it is not this one; None when it is here or
        nobody holds it (a holder that died is replaced first, as for an event)."""
        if await self._holder(cid) is None:
            return None
        holder = await self.owner(cid)
        return None if holder == self.name else holder

    async def owner_agent(self, cid: str) -> str | None:
        if (holder := await self._elsewhere(cid)) is None:
            return self.hub.agent_of(cid)
        answer = await self._call(holder, "agent", conversation=cid)
        return answer if isinstance(answer, str) else None

    async def draft_warnings(self, cid: str, text: str) -> list[dict[str, Any]]:
        if (holder := await self._elsewhere(cid)) is None:
            return self.hub.check_draft(cid, text)
        answer = await self._call(holder, "draft", conversation=cid, text=text)
        return answer if isinstance(answer, list) else []

    async def whisper(self, cid: str, text: str, sender: str) -> dict[str, Any]:
        if (holder := await self._elsewhere(cid)) is None:
            return await self.hub.whisper(cid, text, sender)
        answer: dict[str, Any] = await self._call(holder, "whisper", conversation=cid, text=text, sender=sender)
        return answer

    async def detail(self, cid: str) -> dict[str, Any] | None:
        if (holder := await self._elsewhere(cid)) is None:
            return await self.hub.detail(cid)
        answer: dict[str, Any] | None = await self._call(holder, "detail", conversation=cid)
        return answer

    # -- answering other processes -----------------------------------------------------------
    async def _serve_ingest(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        results = await self.hub.ingest(p["objs"], source=p["source"], agent=p.get("agent"))
        return [r.__dict__ for r in results]

    async def _serve_place(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        results = await self.ingest(p["objs"], source=p["source"], agent=p.get("agent"), placed=True)
        return [r.__dict__ for r in results]

    async def _serve_snapshot(self, p: dict[str, Any]) -> dict[str, Any]:
        return await self.hub.snapshot(p.get("agent"))

    async def _serve_agent(self, p: dict[str, Any]) -> str | None:
        return self.hub.agent_of(p["conversation"])

    async def _serve_draft(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        return self.hub.check_draft(p["conversation"], p["text"])

    async def _serve_whisper(self, p: dict[str, Any]) -> dict[str, Any]:
        return await self.hub.whisper(p["conversation"], p["text"], p["sender"])

    async def _serve_detail(self, p: dict[str, Any]) -> dict[str, Any] | None:
        return await self.hub.detail(p["conversation"])
