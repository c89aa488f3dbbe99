"""`assist serve`: aiohttp + python-socketio around the live hub (a thin shell).

One namespace class per audience turns payloads into hub calls; REST ingest,
/healthz and /metrics are plain aiohttp handlers. All settings come in as arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import socketio
from aiohttp import web

from .config import Settings
from .live import AGENT_NS, SUPERVISOR_NS, SUPERVISORS, Hub, agent_room
from .metrics import Metrics
from .phrasebook import Phrasebook
from .signing import check as check_signature
from .store import SQLiteStore, Store
from .tokens import TokenError, read_token

log = logging.getLogger("assist.server")
HUB = web.AppKey("hub", Hub)
SIO = web.AppKey("sio", socketio.AsyncServer)
MAX_WHISPER = 2000


class SocketEmitter:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def emit(self, event: str, data: Any, *, room: str, namespace: str) -> None:
        await self.sio.emit(event, data, room=room, namespace=namespace)


def _batch(data: Any) -> list[Any]:
    return data if isinstance(data, list) else [data]


class IngestNamespace(socketio.AsyncNamespace):
    """Console backends push contract events; the ack has one result per event."""

    def __init__(self, hub: Hub, settings: Settings) -> None:
        super().__init__("/ingest")
        self.hub = hub
        self.settings = settings

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        auth = auth if isinstance(auth, dict) else {}
        source, secret = auth.get("source"), auth.get("secret")
        known = self.settings.sources.get(source) if isinstance(source, str) else None
        if known is None or not isinstance(secret, str) or not hmac.compare_digest(known, secret):
            raise socketio.exceptions.ConnectionRefusedError(
                "unknown source or wrong secret: connect with auth = {\"source\": NAME, \"secret\": SECRET}")
        await self.save_session(sid, {"source": source})
        self.hub.metrics.panels.labels("/ingest").inc()

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.hub.metrics.panels.labels("/ingest").dec()

    async def on_event(self, sid: str, data: Any) -> list[dict[str, Any]]:
        session = await self.get_session(sid)
        batch = _batch(data)
        limits = self.settings.limits
        if len(batch) > limits.max_batch:
            return [{"ok": False, "error": f"batch of {len(batch)} events; at most {limits.max_batch} per emit"}
                    for _ in batch]
        if self.hub.rate_limited(session["source"], len(batch)):
            self.hub.metrics.errors.labels("rate-limit").inc()
            return [{"ok": False, "error": f"rate limited: source {session['source']!r} sends more than "
                                           f"{limits.events_per_second:g} events/s; slow down and retry"}
                    for _ in batch]
        results = await self.hub.ingest(batch, source=session["source"])
        return [r.to_json() for r in results]


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
        self.hub.metrics.panels.labels(self.namespace).inc()
        self.server.start_background_task(self._send_snapshot, sid, identity.agent)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.hub.metrics.panels.labels(self.namespace).dec()

    def room(self, agent: str) -> str:
        return agent_room(agent)

    async def _send_snapshot(self, sid: str, agent: str) -> None:
        snap = await self.hub.snapshot(agent if self.role == "agent" else None)
        await self.emit("snapshot", snap, to=sid)

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
        if self.hub.agent_of(cid) != session["agent"]:
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
        return self.hub.check_draft(owned[1], text)


class SupervisorNamespace(PanelNamespace):
    role = "supervisor"

    def room(self, agent: str) -> str:
        return SUPERVISORS

    async def on_whisper(self, sid: str, data: Any) -> dict[str, Any]:
        session = await self.get_session(sid)
        cid = data.get("conversation") if isinstance(data, dict) else None
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(cid, str) or not isinstance(text, str) or not text.strip():
            return {"ok": False, "error": "whisper needs 'conversation' and a non-empty 'text'"}
        if len(text) > MAX_WHISPER:
            return {"ok": False, "error": f"whisper over {MAX_WHISPER} characters"}
        return await self.hub.whisper(cid, text.strip(), session["agent"])


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def rest_events(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    settings = hub.settings
    source = request.headers.get("X-Assist-Source", "")
    secret = settings.sources.get(source)
    if secret is None:
        hub.metrics.errors.labels("auth").inc()
        return _error(401, f"unknown source {source!r}: send X-Assist-Source with a configured source name")
    if request.content_length is not None and request.content_length > settings.limits.max_body_bytes:
        return _error(413, f"body over {settings.limits.max_body_bytes} bytes; send smaller batches")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _error(413, f"body over {settings.limits.max_body_bytes} bytes; send smaller batches")
    problem = check_signature(secret, request.headers.get("X-Assist-Timestamp"), body,
                              request.headers.get("X-Assist-Signature"), now=time.time(),
                              max_age=settings.limits.signature_age)
    if problem:
        hub.metrics.errors.labels("auth").inc()
        return _error(401, problem)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(400, f"the body is not valid JSON: {exc}")
    batch = _batch(data)
    if not batch:
        return _error(400, "the body is an empty list; send one event or a list of events")
    if len(batch) > settings.limits.max_batch:
        return _error(413, f"batch of {len(batch)} events; at most {settings.limits.max_batch} per request")
    if hub.rate_limited(source, len(batch)):
        hub.metrics.errors.labels("rate-limit").inc()
        return _error(429, f"rate limited: source {source!r} sends more than "
                           f"{settings.limits.events_per_second:g} events/s; retry later")
    results = await hub.ingest(batch, source=source)
    if results and all(not r.ok and r.error and "cannot write" in r.error for r in results):
        return _error(503, results[0].error or "store unavailable")
    return web.json_response({"results": [r.to_json() for r in results]})


async def healthz(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    ok = await hub.store.healthy()
    return web.json_response({"ok": ok, "open_conversations": hub.open_count(),
                              "phrasebook": hub.phrasebook.fingerprint}, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[HUB].metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def create_app(settings: Settings, phrasebook: Phrasebook, *, store: Store | None = None,
               clock: Callable[[], float] = time.time) -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*",
                               max_http_buffer_size=settings.limits.max_body_bytes)
    app = web.Application(client_max_size=settings.limits.max_body_bytes)
    sio.attach(app)
    hub = Hub(settings, phrasebook, store or SQLiteStore(settings.db), SocketEmitter(sio), Metrics(), clock)
    sio.register_namespace(IngestNamespace(hub, settings))
    sio.register_namespace(AgentNamespace(AGENT_NS, hub, settings))
    sio.register_namespace(SupervisorNamespace(SUPERVISOR_NS, hub, settings))
    app[HUB] = hub
    app[SIO] = sio
    app.router.add_post("/api/v1/events", rest_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)

    async def on_startup(app: web.Application) -> None:
        await hub.start()
        hub._tasks.append(asyncio.create_task(_drop_slow_panels(sio, hub, settings)))

    async def on_shutdown(app: web.Application) -> None:
        for eio_sid in list(getattr(sio.eio, "sockets", {})):  # every client, so the process stops at once
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sio.eio.disconnect(eio_sid), 1.0)
        await sio.shutdown()

    async def on_cleanup(app: web.Application) -> None:
        await hub.stop()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


async def _drop_slow_panels(sio: socketio.AsyncServer, hub: Hub, settings: Settings) -> None:
    """A panel whose outgoing queue keeps growing is disconnected; it reconnects and gets a snapshot."""
    while True:
        await asyncio.sleep(1.0)
        for eio_sid, sock in list(getattr(sio.eio, "sockets", {}).items()):
            queue = getattr(sock, "queue", None)
            if queue is not None and queue.qsize() > settings.limits.panel_queue:
                log.warning("dropping a slow client (%d packets waiting)", queue.qsize())
                hub.metrics.errors.labels("slow-panel").inc()
                with contextlib.suppress(Exception):
                    await sio.eio.disconnect(eio_sid)
