"""`assist demo`: scripted conversations played in real time through the live hub.

The /demo page's console talks to the `/demo` Socket.IO namespace: list the scripts,
play one (at a speed factor), pause it, open a blank chat, and type as the customer
or the agent. Every event goes through `Hub.ingest` exactly like a console's, so the
panel beside it shows what a real agent would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio

from .live import Hub

DEMO_NS = "/demo"
MAX_GAP = 20.0        # seconds of real time at most between two scripted events
MAX_CHATS = 20        # chats the demo keeps (oldest forgotten first)
DROP = ("ts", "id", "expect", "mood_label")  # labels and timing of the script; the server stamps time
SKIP_TYPES = ("draft", "feedback")

Announce = Callable[[str, Any], Awaitable[None]]


@dataclass
class Script:
    name: str
    title: str
    events: list[dict[str, Any]]


@dataclass
class Chat:
    conversation: str
    title: str
    customer: str
    script: Script | None = None
    speed: float = 4.0
    paused: bool = False
    finished: bool = False
    messages: list[dict[str, str]] = field(default_factory=list)
    resume: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def info(self, *, messages: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"conversation": self.conversation, "title": self.title, "customer": self.customer,
                               "paused": self.paused, "finished": self.finished, "manual": self.script is None,
                               "speed": self.speed}
        if messages:
            out["messages"] = list(self.messages)
        return out


def load_scripts(folder: Path) -> dict[str, Script]:
    """Every *.jsonl conversation under `folder` (the labelled set's format)."""
    scripts: dict[str, Script] = {}
    for path in sorted(folder.rglob("*.jsonl")):
        events = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                with contextlib.suppress(ValueError):
                    events.append(json.loads(line))
        events = [e for e in events if isinstance(e, dict) and e.get("type") not in SKIP_TYPES]
        if not events:
            continue
        start: dict[str, Any] = next((e for e in events if e.get("type") == "start"), {})
        name = (start.get("customer") or {}).get("name") or "Customer"
        first = next((e.get("text", "") for e in events if e.get("role") == "customer"), "")
        title = f"{name}: {first[:48]}{'…' if len(first) > 48 else ''}"
        scripts[str(path.relative_to(folder).with_suffix(""))] = Script(path.stem, title, events)
    return scripts


class DemoPlayer:
    def __init__(self, hub: Hub, scripts: dict[str, Script], announce: Announce, agent: str) -> None:
        self.hub = hub
        self.scripts = scripts
        self.announce = announce
        self.agent = agent
        self.chats: OrderedDict[str, Chat] = OrderedDict()
        self._numbers = itertools.count(1)

    def catalogue(self) -> list[dict[str, Any]]:
        return [{"name": key, "title": s.title, "events": len(s.events)} for key, s in self.scripts.items()]

    def _new_chat(self, title: str, customer: str, script: Script | None) -> Chat:
        stem = script.name if script else "chat"
        chat = Chat(f"demo-{next(self._numbers)}-{stem}", title, customer, script)
        chat.resume.set()
        self.chats[chat.conversation] = chat
        while len(self.chats) > MAX_CHATS:
            _, old = self.chats.popitem(last=False)
            if old.task is not None:
                old.task.cancel()
        return chat

    async def play(self, key: str, speed: float) -> Chat:
        script = self.scripts[key]
        start = next((e for e in script.events if e.get("type") == "start"), {})
        chat = self._new_chat(script.title, (start.get("customer") or {}).get("name") or "Customer", script)
        chat.speed = speed
        chat.task = asyncio.create_task(self._run(chat))
        return chat

    async def open(self) -> Chat:
        chat = self._new_chat("Your chat", "Customer", None)
        await self._send(chat, {"type": "start", "customer": {"name": "Customer"}})
        return chat

    async def _run(self, chat: Chat) -> None:
        assert chat.script is not None
        previous: float | None = None
        for event in chat.script.events:
            ts = event.get("ts")
            if isinstance(ts, int | float) and previous is not None:
                await self._wait(chat, min(MAX_GAP, max(0.0, ts - previous) / chat.speed))
            if isinstance(ts, int | float):
                previous = ts
            await chat.resume.wait()
            await self._send(chat, {k: v for k, v in event.items() if k not in DROP})
        chat.finished = True
        await self.announce("chat", chat.info())

    async def _wait(self, chat: Chat, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            await chat.resume.wait()
            left = deadline - loop.time()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.25))  # a pause stops the clock within a quarter second
            if not chat.resume.is_set():
                deadline += 0.25

    async def _send(self, chat: Chat, event: dict[str, Any]) -> dict[str, Any]:
        event = {**event, "conversation": chat.conversation}
        if event.get("type") == "start":
            event["agent"] = {"id": self.agent, "name": "You"}
        result = (await self.hub.ingest([event], source="demo"))[0].to_json()
        if result.get("ok") and event.get("type") == "message":
            message = {"role": str(event.get("role")), "text": str(event.get("text"))}
            chat.messages.append(message)
            await self.announce("played", {"conversation": chat.conversation, **message})
        if result.get("ok") and event.get("type") == "end":
            chat.finished = True
        return result

    async def say(self, cid: str, role: str, text: str) -> dict[str, Any]:
        chat = self.chats.get(cid)
        if chat is None:
            return {"ok": False, "error": f"no demo chat {cid!r}; open one first"}
        if chat.finished:
            return {"ok": False, "error": "this chat has ended; open a new one"}
        return await self._send(chat, {"type": "message", "role": role, "text": text})

    async def pause(self, cid: str, paused: bool) -> None:
        chat = self.chats.get(cid)
        if chat is None:
            return
        chat.paused = paused
        if paused:
            chat.resume.clear()
        else:
            chat.resume.set()
        await self.announce("chat", chat.info())

    def stop(self) -> None:
        for chat in self.chats.values():
            if chat.task is not None:
                chat.task.cancel()


class DemoNamespace(socketio.AsyncNamespace):
    """The /demo page's console. Only registered by `assist demo`."""

    def __init__(self, hub: Hub, scripts: dict[str, Script], agent: str) -> None:
        super().__init__(DEMO_NS)
        self.player = DemoPlayer(hub, scripts, self._announce, agent)

    async def _announce(self, event: str, data: Any) -> None:
        await self.emit(event, data)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await self.emit("chats", [c.info(messages=True) for c in self.player.chats.values()], to=sid)

    async def on_scripts(self, sid: str, data: Any = None) -> list[dict[str, Any]]:
        return self.player.catalogue()

    async def on_play(self, sid: str, data: Any) -> dict[str, Any]:
        key = data.get("script") if isinstance(data, dict) else None
        speed = data.get("speed", 4) if isinstance(data, dict) else 4
        if key not in self.player.scripts:
            return {"ok": False, "error": f"no script {key!r}"}
        if not isinstance(speed, int | float) or not 0.1 <= speed <= 100:
            return {"ok": False, "error": "speed must be a number from 0.1 to 100"}
        chat = await self.player.play(key, float(speed))
        await self.emit("chat", chat.info(), skip_sid=sid)
        return {"ok": True, "chat": chat.info()}

    async def on_open(self, sid: str, data: Any = None) -> dict[str, Any]:
        chat = await self.player.open()
        await self.emit("chat", chat.info(), skip_sid=sid)
        return {"ok": True, "chat": chat.info()}

    async def on_say(self, sid: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get("role") not in ("customer", "agent") \
                or not isinstance(data.get("text"), str) or not isinstance(data.get("conversation"), str):
            return {"ok": False, "error": "say needs 'conversation', 'role' (customer|agent) and 'text'"}
        return await self.player.say(data["conversation"], data["role"], data["text"])

    async def on_pause(self, sid: str, data: Any) -> None:
        if isinstance(data, dict) and isinstance(data.get("conversation"), str):
            await self.player.pause(data["conversation"], bool(data.get("paused")))

    async def on_speed(self, sid: str, data: Any) -> None:
        cid = data.get("conversation") if isinstance(data, dict) else None
        chat = self.player.chats.get(cid) if isinstance(cid, str) else None
        speed = data.get("speed") if isinstance(data, dict) else None
        if chat is not None and isinstance(speed, int | float) and 0.1 <= speed <= 100:
            chat.speed = float(speed)
