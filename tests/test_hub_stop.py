"""The hub stops promptly right after a burst of ingest (Python 3.11 wait_for pitfall)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from assist import load_phrasebook
from assist.live import Hub
from assist.metrics import Metrics
from assist.store import SQLiteStore

from .server_helpers import make_settings


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    async def emit(self, event: str, data: Any, *, room: str, namespace: str) -> None:
        self.sent.append((event, data))


async def test_stop_right_after_ingest_does_not_hang(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    hub = Hub(settings, load_phrasebook(), SQLiteStore(settings.db), Recorder(), Metrics())
    await hub.start()
    now = time.time()
    events = []
    for n in range(100):
        events += [{"conversation": f"c{n}", "type": "start", "ts": now, "agent": {"id": "a"}},
                   {"conversation": f"c{n}", "type": "message", "role": "agent", "ts": now, "text": "One moment."}]
    results = await hub.ingest(events, source="test")
    assert all(r.ok for r in results)
    await asyncio.wait_for(hub.stop(), 5)
