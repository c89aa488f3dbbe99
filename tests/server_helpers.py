"""A real server on a free loopback port, real Socket.IO clients, for the server tests."""

from __future__ import annotations

import asyncio
import math
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from assist import load_phrasebook
from assist.config import Limits, Settings
from assist.server import HUB, create_app
from assist.tokens import make_token

SECRET = "test-token-secret-0123456789abcdef-xyz"
SOURCE, SOURCE_SECRET = "console", "console-secret"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far, from /proc/<pid>/stat (Linux); NaN once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields_ = stat[stat.rindex(")") + 2:].split()
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_settings(tmp: Path, **changes: Any) -> Settings:
    limits = changes.pop("limits", Limits())
    return replace(Settings(host="127.0.0.1", port=free_port(), db=str(tmp / "assist.sqlite3"), secret=SECRET,
                            sources={SOURCE: SOURCE_SECRET}, limits=limits), **changes)


def token(agent: str, role: str = "agent", ttl: float = 3600) -> str:
    return make_token(SECRET, agent, role=role, ttl=ttl, now=time.time())


@dataclass
class Running:
    settings: Settings
    app: web.Application
    runner: web.AppRunner

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    @property
    def hub(self) -> Any:
        return self.app[HUB]


@asynccontextmanager
async def running_server(settings: Settings, phrasebook: Any = None) -> AsyncIterator[Running]:
    app = create_app(settings, phrasebook or load_phrasebook())
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    try:
        yield Running(settings, app, runner)
    finally:
        await runner.cleanup()


@dataclass
class Panel:
    """A Socket.IO client on /agent or /supervisor that records what it receives."""

    client: socketio.AsyncClient
    namespace: str
    received: list[tuple[str, Any]] = field(default_factory=list)
    snapshot: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, kind: str) -> list[Any]:
        return [data for event, data in self.received if event == kind]

    async def wait_for(self, kind: str, pred: Any = None, timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for data in self.of(kind):
                if pred is None or pred(data):
                    return data
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {kind!r} matching on {self.namespace} within {timeout}s; got {self.received!r}")


async def connect_panel(url: str, tok: str, namespace: str = "/agent") -> Panel:
    client = socketio.AsyncClient(reconnection=False)
    panel = Panel(client, namespace)
    for kind in ("snapshot", "turn", "prompt", "conversation", "whisper", "phrasebook", "ack"):
        def handler(data: Any, kind: str = kind) -> None:
            panel.received.append((kind, data))
            if kind == "snapshot":
                panel.snapshot.set()
        client.on(kind, handler, namespace=namespace)
    await client.connect(url, namespaces=[namespace], auth={"token": tok}, transports=["websocket"])
    await asyncio.wait_for(panel.snapshot.wait(), 5)
    return panel


async def connect_ingest(url: str, source: str = SOURCE, secret: str = SOURCE_SECRET) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, namespaces=["/ingest"], auth={"source": source, "secret": secret},
                         transports=["websocket"])
    return client
