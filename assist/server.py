"""`assist serve`: aiohttp + python-socketio around the live hub (a thin shell).

One namespace class per audience turns payloads into hub calls; REST ingest,
/healthz and /metrics are plain aiohttp handlers. All settings come in as arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from .config import Settings
from .integrations import add_routes as add_integration_routes
from .live import AGENT_NS, SUPERVISOR_NS, SUPERVISORS, Hub, store_unavailable
from .metrics import Metrics
from .outbox import Sender
from .pages import DEMO_AGENT, add_routes
from .panels import AgentNamespace
from .phrasebook import Phrasebook
from .reloader import PhrasebookKeeper
from .rooms import RoomDirectory
from .responses import json_body, json_error
from .signing import check as check_signature
from .store import SQLiteStore, Store
from .supervision import SupervisorNamespace

log = logging.getLogger("assist.server")
HUB = web.AppKey("hub", Hub)
SIO = web.AppKey("sio", socketio.AsyncServer)
KEEPER = web.AppKey("keeper", PhrasebookKeeper)
FRONT = web.AppKey("front", object)  # the hub, or the cluster in front of it


class WirePacket(socketio.packet.Packet):
    """python-socketio's packet with a faster binary check: the stock one walks every
    value of a record twice over through lists and reduce() (a sixth of the server's
    CPU under load); this walk answers the same and stops at the first bytes."""

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        pending = [data]
        while pending:
            item = pending.pop()
            if isinstance(item, bytes | bytearray):
                return True
            if isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, dict):
                pending.extend(item.values())
        return False


class SocketEmitter:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def emit(self, event: str, data: Any, *, room: str, namespace: str) -> None:
        await self.sio.emit(event, data, room=room, namespace=namespace)


class RoomAwareEmitter(SocketEmitter):
    """Several processes: an emit crosses Redis only when another process holds a socket
    in the room; when only this one does, it goes out here; when nobody does, nowhere."""

    def __init__(self, sio: socketio.AsyncServer, rooms: RoomDirectory) -> None:
        super().__init__(sio)
        self.rooms = rooms

    async def emit(self, event: str, data: Any, *, room: str, namespace: str) -> None:
        if self.rooms.held_elsewhere((namespace, room)):
            await self.sio.emit(event, data, room=room, namespace=namespace)
        elif self.rooms.held_here((namespace, room)):
            await self.sio.emit(event, data, room=room, namespace=namespace, ignore_queue=True)


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



async def rest_events(request: web.Request) -> web.Response:
    hub: Any = request.app[FRONT]
    settings = hub.settings
    source = request.headers.get("X-Assist-Source", "")
    secret = settings.sources.get(source)
    if secret is None:
        hub.metrics.errors.labels("auth").inc()
        return json_error(401, f"unknown source {source!r}: send X-Assist-Source with a configured source name")
    if request.content_length is not None and request.content_length > settings.limits.max_body_bytes:
        return json_error(413, f"body over {settings.limits.max_body_bytes} bytes; send smaller batches")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, f"body over {settings.limits.max_body_bytes} bytes; send smaller batches")
    problem = check_signature(secret, request.headers.get("X-Assist-Timestamp"), body,
                              request.headers.get("X-Assist-Signature"), now=time.time(),
                              max_age=settings.limits.signature_age)
    if problem:
        hub.metrics.errors.labels("auth").inc()
        return json_error(401, problem)
    data, refused = json_body(body)
    if refused is not None:
        return refused
    batch = _batch(data)
    if not batch:
        return json_error(400, "the body is an empty list; send one event or a list of events")
    if len(batch) > settings.limits.max_batch:
        return json_error(413, f"batch of {len(batch)} events; at most {settings.limits.max_batch} per request")
    if hub.rate_limited(source, len(batch)):
        hub.metrics.errors.labels("rate-limit").inc()
        return json_error(429, f"rate limited: source {source!r} sends more than "
                           f"{settings.limits.events_per_second:g} events/s; retry later")
    results = await hub.ingest(batch, source=source)
    if unavailable := store_unavailable(results):
        return json_error(503, unavailable)
    return web.json_response({"results": [r.to_json() for r in results]})


async def healthz(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    ok = await hub.store.healthy()
    body: dict[str, Any] = {"ok": ok, "process": os.getpid(), "open_conversations": hub.open_count(),
                            "phrasebook": hub.phrasebook.fingerprint}
    rooms = getattr(request.app[FRONT], "rooms", None)
    if rooms is not None:  # several processes: has this one heard every other's panel rooms yet?
        body["rooms_known"] = rooms.complete
    return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[HUB].metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def open_store(settings: Settings) -> Store:
    """PostgreSQL when `store` is a postgresql:// address, else the embedded SQLite file."""
    if settings.store.startswith(("postgresql://", "postgres://")):
        from .pgstore import PostgresStore

        return PostgresStore(settings.store, schema=settings.store_schema)
    return SQLiteStore(settings.db)


def create_app(settings: Settings, phrasebook: Phrasebook, *, store: Store | None = None,
               clock: Callable[[], float] = time.time, demo_scripts: Path | None = None) -> web.Application:
    """The server; with `demo_scripts`, also the /demo console playing those conversations."""
    manager = socketio.AsyncRedisManager(settings.redis, channel="assist-socketio") if settings.redis else None
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*", client_manager=manager,
                               serializer=WirePacket, max_http_buffer_size=settings.limits.max_body_bytes)
    app = web.Application(client_max_size=settings.limits.max_body_bytes)
    sio.attach(app)
    hub = Hub(settings, phrasebook, store or open_store(settings), SocketEmitter(sio), Metrics(), clock)
    front: Any = hub  # what the namespaces and handlers talk to
    cluster = None
    if settings.redis:
        from .cluster import Cluster

        hub.rebuild_on_start = False
        front = cluster = Cluster(hub, settings.redis, lease=settings.lease_seconds)
        hub.emitter = RoomAwareEmitter(sio, cluster.rooms)
    sio.register_namespace(IngestNamespace(front, settings))
    keeper = PhrasebookKeeper(hub, settings.phrasebooks)
    supervisors = SupervisorNamespace(SUPERVISOR_NS, front, settings)
    supervisors.keeper = keeper

    async def tell_supervisors(status: dict[str, Any]) -> None:
        await sio.emit("phrasebook", status, room=SUPERVISORS, namespace=SUPERVISOR_NS)

    keeper.listeners.append(tell_supervisors)
    sio.register_namespace(AgentNamespace(AGENT_NS, front, settings))
    sio.register_namespace(supervisors)
    app[HUB] = hub
    app[FRONT] = front
    app[KEEPER] = keeper
    app[SIO] = sio
    app.router.add_post("/api/v1/events", rest_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    add_routes(app, settings, demo=demo_scripts is not None)
    add_integration_routes(app, front)
    demo = None
    if demo_scripts is not None:
        from .demo import DemoNamespace, load_scripts

        demo = DemoNamespace(hub, load_scripts(demo_scripts), DEMO_AGENT)
        sio.register_namespace(demo)

    async def on_startup(app: web.Application) -> None:
        await hub.start()
        if cluster is not None:
            await cluster.start()
        hub._tasks.append(asyncio.create_task(_drop_slow_panels(sio, hub, settings)))
        if settings.webhooks:
            sender = Sender(hub.store, settings, hub.metrics, clock)
            hub._tasks.append(asyncio.create_task(sender.run(), name="assist-webhooks"))
        if settings.watch_phrasebooks:
            hub._tasks.append(asyncio.create_task(keeper.watch(), name="assist-phrasebook-watch"))

    async def on_shutdown(app: web.Application) -> None:
        for eio_sid in list(getattr(sio.eio, "sockets", {})):  # every client, so the process stops at once
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sio.eio.disconnect(eio_sid), 1.0)
        await sio.shutdown()

    async def on_cleanup(app: web.Application) -> None:
        keeper.stop()
        if cluster is not None:
            await cluster.stop()
        if demo is not None:
            demo.player.stop()
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
