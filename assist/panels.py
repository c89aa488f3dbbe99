"""The agent panels' Socket.IO namespace (`/agent`), and the connect logic every panel shares."""

from __future__ import annotations

import time
from typing import Any

import socketio

from .config import Settings
from .live import Hub, agent_room
from .tokens import TokenError, read_token


class PanelNamespace(socketio.AsyncNamespace):
    """Shared connect logic: a signed token of the right role; then a snapshot."""

    role = "agent"

    def __init__(self, namespace: str, hub: Hub, settings: Settings) -> None:
        super().__init__(namespace)
        self.hub = hub
        self.settings = settings

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            identity = read_token(self.settings.secret, token, now=time.time(), role=self.role)
        except TokenError as exc:
            raise socketio.exceptions.ConnectionRefusedError(str(exc)) from exc
        await self.save_session(sid, {"agent": identity.agent, "role": identity.role})
        await self.enter_room(sid, self.room(identity.agent))
        await self.hub.room_joined((self.namespace, self.room(identity.agent)))  # before the snapshot
        self.hub.metrics.panels.labels(self.namespace).inc()
        self.server.start_background_task(self._send_snapshot, sid, identity.agent)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.hub.metrics.panels.labels(self.namespace).dec()
        session = await self.get_session(sid)
        await self.hub.room_left((self.namespace, self.room(session["agent"])))

    def room(self, agent: str) -> str:
        return agent_room(agent)

    async def _send_snapshot(self, sid: str, agent: str) -> None:
        snap = await self.hub.snapshot(agent if self.role == "agent" else None)
        await self.emit("snapshot", snap, to=sid, ignore_queue=True)  # the socket is here

    async def on_snapshot(self, sid: str, data: Any = None) -> dict[str, Any]:
        """A panel may ask again (after a reconnect); the reply is the same snapshot."""
        session = await self.get_session(sid)
        return await self.hub.snapshot(session["agent"] if self.role == "agent" else None)


class AgentNamespace(PanelNamespace):
    role = "agent"

    async def _owned(self, sid: str, data: Any) -> tuple[str, str] | dict[str, Any]:
        session = await self.get_session(sid)
        cid = data.get("conversation") if isinstance(data, dict) else None
        if not isinstance(cid, str):
            return {"ok": False, "error": "'conversation' (a string) is required"}
        if await self.hub.owner_agent(cid) != session["agent"]:
            return {"ok": False, "error": f"conversation {cid!r} is not assigned to you"}
        return session["agent"], cid

    async def on_feedback(self, sid: str, data: Any) -> dict[str, Any]:
        owned = await self._owned(sid, data)
        if isinstance(owned, dict):
            return owned
        agent, cid = owned
        event = {"conversation": cid, "type": "feedback", "prompt": data.get("prompt"),
                 "verdict": data.get("verdict")}
        if isinstance(data.get("ts"), int | float):
            event["ts"] = data["ts"]
        result = (await self.hub.ingest([event], source=f"panel:{agent}", agent=agent))[0]
        return result.to_json()

    async def on_draft(self, sid: str, data: Any) -> list[dict[str, Any]] | dict[str, Any]:
        owned = await self._owned(sid, data)
        if isinstance(owned, dict):
            return owned
        text = data.get("text")
        if not isinstance(text, str):
            return {"ok": False, "error": "'text' (a string) is required"}
        if len(text.encode()) > 16384:
            return {"ok": False, "error": "draft over 16 KiB"}
        return await self.hub.draft_warnings(owned[1], text)
